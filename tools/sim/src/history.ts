/**
 * The history model the checkers consume: plain recorded operations, independent of the system
 * that produced them.
 *
 * An operation has a client, a call time, an input and one of three outcomes:
 *
 * - `ok`: it returned `output` at `returnMs`; it took effect exactly once, between its call and
 *   its return.
 * - `failed`: it returned a definite failure at `returnMs`; it did not take effect (the
 *   linearizability checker ignores it).
 * - `unknown`: it never returned, or the client gave up (a timeout at `returnMs`); it may have
 *   taken effect at any instant after its call, or never. This is the hard case of real histories.
 *
 * Times are numbers in one unit (logical ticks or virtual milliseconds); only their order matters.
 *
 * @module
 */
import { DerError } from '@x/common'

/** How an operation ended; see the module comment. */
export type OperationOutcome = 'ok' | 'failed' | 'unknown'

/** One recorded operation of a history. */
export interface Operation<I, O> {
  /** Unique within its history; reports name operations by it (`#7`). */
  readonly id: number
  /** The client (process, session) that issued it. */
  readonly clientId: number | string
  /** When the call was issued. */
  readonly callMs: number
  /** When it returned (`ok`, `failed`) or was given up (`unknown`); absent if it never returned. */
  readonly returnMs?: number | undefined
  /** What was asked. */
  readonly input: I
  /** What was answered; present exactly when the outcome is `ok`. */
  readonly output?: O | undefined
  /** How the operation ended. */
  readonly outcome: OperationOutcome
}

/** A recorded history: operations in any order (checkers sort what they need). */
export type History<I, O> = readonly Operation<I, O>[]

function invalid(message: string, details: Record<string, unknown>): DerError {
  return new DerError('DER_INVAL', message, { details })
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/**
 * Checks that a history is well formed: unique ids, finite times, `returnMs >= callMs`, a return
 * time and an output for `ok`, a return time for `failed`, no output for `failed` and `unknown`.
 *
 * @throws DerError `DER_INVAL` naming the first bad operation.
 */
export function validateHistory<I, O>(history: History<I, O>): void {
  const ids = new Set<number>()
  for (const op of history) {
    const details = { id: op.id, clientId: op.clientId }
    if (!Number.isSafeInteger(op.id)) throw invalid(`operation id must be a safe integer, got ${String(op.id)}`, details)
    if (ids.has(op.id)) throw invalid(`duplicate operation id #${op.id}`, details)
    ids.add(op.id)
    if (!isTime(op.callMs)) throw invalid(`operation #${op.id}: callMs must be a finite number`, details)
    if (op.returnMs !== undefined) {
      if (!isTime(op.returnMs)) throw invalid(`operation #${op.id}: returnMs must be a finite number`, details)
      if (op.returnMs < op.callMs) throw invalid(`operation #${op.id}: returns at ${op.returnMs} before its call at ${op.callMs}`, details)
    }
    switch (op.outcome) {
      case 'ok':
        if (op.returnMs === undefined) throw invalid(`operation #${op.id}: an ok operation needs returnMs`, details)
        if (op.output === undefined) throw invalid(`operation #${op.id}: an ok operation needs an output`, details)
        break
      case 'failed':
        if (op.returnMs === undefined) throw invalid(`operation #${op.id}: a failed operation needs returnMs`, details)
        if (op.output !== undefined) throw invalid(`operation #${op.id}: a failed operation has no output`, details)
        break
      case 'unknown':
        if (op.output !== undefined) throw invalid(`operation #${op.id}: an unknown-outcome operation has no output`, details)
        break
      default:
        throw invalid(`operation #${op.id}: outcome must be ok, failed or unknown, got ${String(op.outcome)}`, details)
    }
  }
}

/**
 * Records a history as a workload runs: `invoke` at call time, then one of `ok`, `fail` or
 * `timeout`. Operations still open when {@link HistoryRecorder.history} is called come out with
 * an `unknown` outcome and no return time.
 */
export class HistoryRecorder<I, O> {
  private readonly operations: Operation<I, O>[] = []
  private readonly open = new Map<number, { clientId: number | string; callMs: number; input: I }>()
  private nextId = 0

  /** Records a call; returns the operation's id. */
  invoke(clientId: number | string, input: I, callMs: number): number {
    if (!isTime(callMs)) throw invalid('callMs must be a finite number', { clientId })
    const id = this.nextId++
    this.open.set(id, { clientId, callMs, input })
    return id
  }

  /** Records a successful return with its output. */
  ok(id: number, output: O, returnMs: number): void {
    this.close(id, returnMs, 'ok', output)
  }

  /** Records a definite failure: the operation did not take effect. */
  fail(id: number, returnMs: number): void {
    this.close(id, returnMs, 'failed', undefined)
  }

  /** Records that the client gave up: the operation may or may not have taken effect. */
  timeout(id: number, returnMs: number): void {
    this.close(id, returnMs, 'unknown', undefined)
  }

  /** The history so far; still-open operations have an `unknown` outcome and no return time. */
  history(): History<I, O> {
    const pending: Operation<I, O>[] = [...this.open].map(([id, o]) => ({ id, clientId: o.clientId, callMs: o.callMs, input: o.input, outcome: 'unknown' }))
    return [...this.operations, ...pending].sort((a, b) => a.id - b.id)
  }

  private close(id: number, returnMs: number, outcome: OperationOutcome, output: O | undefined): void {
    const o = this.open.get(id)
    if (o === undefined) throw invalid(`operation #${id} is not open`, { id })
    if (!isTime(returnMs) || returnMs < o.callMs) throw invalid(`operation #${id}: returnMs ${returnMs} must be finite and >= callMs ${o.callMs}`, { id })
    this.open.delete(id)
    this.operations.push({ id, clientId: o.clientId, callMs: o.callMs, returnMs, input: o.input, output, outcome })
  }
}
