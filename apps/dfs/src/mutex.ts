/**
 * A FIFO async mutex: namespace mutations of one mount run one at a time, so a check (does the
 * name exist?) and the change that follows are never interleaved with another of this mount.
 *
 * @module
 */

/** A FIFO async mutex. */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve()

  /** Runs `fn` alone (after every earlier caller finished). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    this.tail = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}
