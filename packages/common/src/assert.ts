/**
 * Assertions: executable invariants that stay on in production.
 *
 * An assertion failure means the program itself is wrong (a broken invariant), not that the
 * environment failed; operating failures throw {@link DerError} instead.
 *
 * @module
 */

const assertionMarker = Symbol.for('@x/common/AssertionError')

/** Thrown when an invariant does not hold: a bug, never bad input. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError'
  readonly [assertionMarker] = true
}

/** Throws {@link AssertionError} with `message` unless `condition` holds. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message)
}

/** Marks a branch that the type system proves unreachable; throws if it is reached. */
export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`)
}

/**
 * Documents that a condition may legitimately be either true or false at this point (the
 * counterpart of {@link assert}); it checks nothing, it tells the reader both cases were meant.
 */
export function maybe(_condition: boolean): void {}
