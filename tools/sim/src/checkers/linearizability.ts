/**
 * A linearizability checker in the manner of Wing & Gong, with Lowe's memoization (as in
 * Porcupine): a depth-first search over the order in which concurrent operations may have taken
 * effect, remembering every (set of linearized operations, model state) pair already explored.
 *
 * - Histories are split into independent partitions (per key for a KV store) first; each is
 *   checked alone, which keeps the search small.
 * - `ok` operations must take effect between their call and return; `unknown` ones may take effect
 *   at any instant after their call, or never; `failed` ones are ignored.
 * - The search is bounded by a step budget (deterministic); an optional wall-time bound reads a
 *   {@link Clock} passed in.
 * - On a violation, the report gives the minimal failing window: the shortest prefix of the
 *   partition's history that is already not linearizable, and within it a minimal set of
 *   operations that cannot be linearized even when every other operation of the prefix is
 *   weakened to "may or may not have taken effect".
 *
 * Equal times: a call at the same instant as another operation's return counts as concurrent with
 * it (the conservative choice: no false alarms from coarse clocks).
 *
 * @module
 */
import { type Clock, DerError } from '@x/common'
import { type History, type Operation, validateHistory } from '../history.ts'

/** One independent part of a history, checked on its own. */
export interface HistoryPartition<I, O> {
  /** A name for reports (`key "a"`). */
  readonly label: string
  /** Its operations. */
  readonly operations: History<I, O>
}

/**
 * A sequential specification, as a plain object.
 *
 * `step` is called with `output === undefined` for an operation of unknown outcome: it must then
 * accept and return the state after the operation took effect.
 */
export interface Model<S, I, O> {
  /** A name for reports. */
  readonly name: string
  /** The initial state. */
  init(): S
  /** Applies `input` to `state`; returns whether `output` is a correct answer, and the next state. */
  step(state: S, input: I, output: O | undefined): readonly [boolean, S]
  /** Splits a history into independent partitions (per key); one partition when absent. */
  partition?(history: History<I, O>): readonly HistoryPartition<I, O>[]
  /** A canonical string of a state, for memoization (JSON by default). */
  readonly hash?: (state: S) => string
  /** State equality among states of equal hash (equal hashes mean equal states by default). */
  readonly equal?: (a: S, b: S) => boolean
  /**
   * Whether an input never changes the state (a read): unknown-outcome operations with such inputs
   * are dropped before the search, since taking effect or not makes no difference.
   */
  readonly readOnly?: (input: I) => boolean
  /** A short text of an operation for reports (`put a=1 -> ok`). */
  describe?(input: I, output: O | undefined): string
}

/** Limits of one check. */
export interface LinearizabilityOptions {
  /** The search budget, in search steps, shared by all partitions (default 10,000,000). */
  readonly maxSteps?: number
  /** The budget for finding the minimal failing window of each violation (default 2,000,000). */
  readonly maxMinimizeSteps?: number
  /**
   * An optional wall-time bound read from the given clock (every 1,024 steps): the search stops
   * once `maxMs` have passed; each violation's minimization gets its own `maxMs`.
   */
  readonly deadline?: { readonly clock: Clock; readonly maxMs: number }
}

/** The minimal failing window of a violation. */
export interface FailingWindow<I, O> {
  /** The partition's label. */
  readonly partition: string
  /** The end of the shortest failing prefix: the return time after which no order exists. */
  readonly prefixEndMs: number
  /** How many operations the failing prefix holds (calls at or before `prefixEndMs`). */
  readonly prefixSize: number
  /** The operation(s) whose return ends the failing prefix. */
  readonly lastOperations: readonly Operation<I, O>[]
  /** A minimal set of operations (including the last ones) that cannot be linearized. */
  readonly operations: readonly Operation<I, O>[]
  /** Whether the minimization ran to completion (false: budget ran out, the set may be larger). */
  readonly minimal: boolean
  /** The window as readable text. */
  readonly text: string
}

/** The verdict of one partition. */
export interface PartitionVerdict {
  /** The partition's label. */
  readonly label: string
  /** Its verdict. */
  readonly verdict: 'linearizable' | 'violation' | 'budget-exhausted'
  /** Operations checked (ok and unknown). */
  readonly operations: number
  /** Search steps spent on it (not counting minimization). */
  readonly steps: number
}

/** The result of {@link checkLinearizability}. */
export interface LinearizabilityResult<I, O> {
  /** `violation` if any partition fails; else `budget-exhausted` if any ran out; else `linearizable`. */
  readonly verdict: 'linearizable' | 'violation' | 'budget-exhausted'
  /** Search steps spent in all (not counting minimization). */
  readonly steps: number
  /** Whether the step budget or the deadline ran out anywhere. */
  readonly budgetExhausted: boolean
  /** Per-partition verdicts, in partition order. */
  readonly partitions: readonly PartitionVerdict[]
  /** The failing window of each violating partition. */
  readonly violations: readonly FailingWindow<I, O>[]
}

type SearchVerdict = 'linearizable' | 'violation' | 'budget-exhausted'

interface Entry {
  readonly isCall: boolean
  readonly time: number
  readonly op: number
  match: Entry | null
  prev: Entry | null
  next: Entry | null
}

class Bitset {
  private readonly words: Uint32Array
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32) || 1)
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31)
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31))
  }
  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0
  }
  key(): string {
    let s = ''
    for (const w of this.words) s += String.fromCharCode(w & 0xffff, w >>> 16)
    return s
  }
  snapshot(): Uint32Array {
    return this.words.slice()
  }
  /** Whether every bit of `other` (a snapshot of a bitset of the same size) is set here. */
  includes(other: Uint32Array): boolean {
    for (let i = 0; i < other.length; i++) if ((other[i]! & ~this.words[i]!) !== 0) return false
    return true
  }
}

/** A step counter shared by the searches of one check. */
class Budget {
  used = 0
  private readonly deadlineAtMs: number | undefined
  constructor(
    private readonly maxSteps: number,
    private readonly deadline: LinearizabilityOptions['deadline'],
  ) {
    this.deadlineAtMs = deadline === undefined ? undefined : deadline.clock.monotonicMs() + deadline.maxMs
  }
  /** Whether the steps or the deadline ran out. */
  exhausted = false
  /** Takes one step; false when the budget is spent. */
  take(): boolean {
    if (this.exhausted) return false
    if (this.used >= this.maxSteps || (this.deadlineAtMs !== undefined && (this.used & 1023) === 0 && this.deadline!.clock.monotonicMs() > this.deadlineAtMs)) {
      this.exhausted = true
      return false
    }
    this.used++
    return true
  }
}

function defaultHash(state: unknown): string {
  return JSON.stringify(state) ?? 'undefined'
}

/** One way to extend a partial linearization: an `ok` operation's call entry, or an unknown operation. */
type Candidate = { readonly entry: Entry; readonly unknown: -1 } | { readonly entry: null; readonly unknown: number }

/** A node of the depth-first search. */
interface Frame<S> {
  readonly state: S
  readonly candidates: readonly Candidate[]
  next: number
  chosen: Candidate | null
}

/**
 * The search proper on one partition (failed operations removed).
 *
 * `ok` operations sit in a doubly linked list of call and return entries (Lowe's formulation):
 * an operation may take effect next when its call comes before the first remaining return.
 * Unknown operations stay out of the list: each may take effect once, at any point after its call,
 * or never. At each node the search tries `ok` operations first, then unknown ones.
 *
 * Memoization: a node is (set of `ok` operations done, state, set of unknown operations used). A
 * node is pruned when a node with the same `ok` set and state, using a subset of its unknown
 * operations, was already explored: that node had every option this one has.
 */
function search<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], budget: Budget): SearchVerdict {
  const known = ops.filter((op) => op.outcome === 'ok')
  const readOnly = model.readOnly
  const unknown = ops.filter((op) => op.outcome === 'unknown' && !(readOnly?.(op.input) ?? false)).sort((a, b) => a.callMs - b.callMs || a.id - b.id)
  const required = known.length
  if (required === 0) return 'linearizable'
  const entries: Entry[] = []
  known.forEach((op, i) => {
    const call: Entry = { isCall: true, time: op.callMs, op: i, match: null, prev: null, next: null }
    const ret: Entry = { isCall: false, time: op.returnMs!, op: i, match: null, prev: null, next: null }
    call.match = ret
    entries.push(call, ret)
  })
  // Calls before returns at equal times (concurrent); then by operation for determinism.
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1) || a.op - b.op)
  const head: Entry = { isCall: false, time: -Infinity, op: -1, match: null, prev: null, next: null }
  let prev = head
  for (const e of entries) {
    prev.next = e
    e.prev = prev
    prev = e
  }
  const lift = (e: Entry): void => {
    e.prev!.next = e.next
    if (e.next !== null) e.next.prev = e.prev
    const m = e.match!
    m.prev!.next = m.next
    if (m.next !== null) m.next.prev = m.prev
  }
  const unlift = (e: Entry): void => {
    const m = e.match!
    m.prev!.next = m
    if (m.next !== null) m.next.prev = m
    e.prev!.next = e
    if (e.next !== null) e.next.prev = e
  }

  const hash = model.hash ?? defaultHash
  const equal = model.equal ?? ((): boolean => true)
  const done = new Bitset(known.length)
  const used = new Bitset(unknown.length)
  let doneCount = 0
  const cache = new Map<string, { state: S; used: Uint32Array }[]>()

  const callOf = (c: Candidate): number => (c.entry !== null ? c.entry.time : unknown[c.unknown]!.callMs)
  const candidatesHere = (): Candidate[] => {
    const out: Candidate[] = []
    let e = head.next
    let frontier = Infinity
    for (; e !== null; e = e.next) {
      if (!e.isCall) {
        frontier = e.time
        break
      }
      out.push({ entry: e, unknown: -1 })
    }
    for (let j = 0; j < unknown.length && unknown[j]!.callMs <= frontier; j++) {
      if (!used.has(j)) out.push({ entry: null, unknown: j })
    }
    // Earliest call first: the order most likely to be the real one.
    return out.sort((a, b) => callOf(a) - callOf(b))
  }
  const apply = (c: Candidate): void => {
    if (c.entry !== null) {
      done.set(c.entry.op)
      doneCount++
      lift(c.entry)
    } else used.set(c.unknown)
  }
  const undo = (c: Candidate): void => {
    if (c.entry !== null) {
      done.clear(c.entry.op)
      doneCount--
      unlift(c.entry)
    } else used.clear(c.unknown)
  }

  const stack: Frame<S>[] = [{ state: model.init(), candidates: candidatesHere(), next: 0, chosen: null }]
  for (;;) {
    const frame = stack[stack.length - 1]!
    if (frame.next >= frame.candidates.length) {
      stack.pop()
      const parent = stack[stack.length - 1]
      if (parent === undefined) return 'violation'
      undo(parent.chosen!)
      parent.chosen = null
      continue
    }
    if (!budget.take()) return 'budget-exhausted'
    const c = frame.candidates[frame.next++]!
    const op = c.entry !== null ? known[c.entry.op]! : unknown[c.unknown]!
    const [ok, next] = model.step(frame.state, op.input, op.output)
    if (!ok) continue
    apply(c)
    if (doneCount === required) return 'linearizable'
    const key = `${done.key()}\u0000${hash(next)}`
    let bucket = cache.get(key)
    if (bucket === undefined) cache.set(key, (bucket = []))
    if (bucket.some((seen) => used.includes(seen.used) && equal(seen.state, next))) {
      undo(c)
      continue
    }
    bucket.push({ state: next, used: used.snapshot() })
    frame.chosen = c
    stack.push({ state: next, candidates: candidatesHere(), next: 0, chosen: null })
  }
}

/** An `ok` operation made `unknown`: it may or may not have taken effect, any time after its call. */
function weaken<I, O>(op: Operation<I, O>): Operation<I, O> {
  return { id: op.id, clientId: op.clientId, callMs: op.callMs, input: op.input, outcome: 'unknown' }
}

/** The prefix of a partition observed at time `t`: operations called by `t`, those not returned by `t` pending. */
function prefixAt<I, O>(ops: readonly Operation<I, O>[], t: number): Operation<I, O>[] {
  const out: Operation<I, O>[] = []
  for (const op of ops) {
    if (op.callMs > t) continue
    out.push(op.outcome === 'ok' && op.returnMs! > t ? weaken(op) : op)
  }
  return out
}

function describeOp<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  if (model.describe !== undefined) return model.describe(op.input, op.output)
  const out = op.outcome === 'ok' ? JSON.stringify(op.output) : '?'
  return `${JSON.stringify(op.input)} -> ${out}`
}

/** Renders operations as a table with a time bar each, `*` marking the last operations. */
function renderWindow<S, I, O>(model: Model<S, I, O>, window: Omit<FailingWindow<I, O>, 'text'>): string {
  const ops = [...window.operations].sort((a, b) => a.callMs - b.callMs || a.id - b.id)
  const last = new Set(window.lastOperations.map((o) => o.id))
  const start = Math.min(...ops.map((o) => o.callMs))
  const end = Math.max(window.prefixEndMs, ...ops.map((o) => o.returnMs ?? o.callMs))
  const width = 40
  const col = (t: number): number => (end === start ? 0 : Math.round(((t - start) / (end - start)) * (width - 1)))
  const lines = [
    `linearizability violation (${model.name}) in partition ${window.partition}:`,
    `  the shortest failing prefix ends at t=${window.prefixEndMs} (${window.prefixSize} operations);`,
    `  these ${ops.length} operation(s) admit no linearization${window.minimal ? '' : ' (not fully minimized: budget ran out)'}:`,
  ]
  for (const op of ops) {
    const a = col(op.callMs)
    const b = op.outcome === 'ok' ? col(op.returnMs!) : width - 1
    const bar = ' '.repeat(a) + '|' + (op.outcome === 'ok' ? '-'.repeat(Math.max(0, b - a - 1)) + (b > a ? '|' : '') : '-'.repeat(Math.max(0, b - a - 1)) + '>')
    const range = `[${op.callMs}, ${op.outcome === 'ok' ? op.returnMs! : '?'}]`
    lines.push(`  ${last.has(op.id) ? '*' : ' '} #${op.id} client ${op.clientId} ${range.padEnd(16)} ${bar.padEnd(width)}  ${describeOp(model, op)}`)
  }
  lines.push('  (* = its return leaves no valid order; ? = unknown outcome)')
  return lines.join('\n')
}

/** Finds the minimal failing window of a partition known to violate linearizability. */
function minimalWindow<S, I, O>(model: Model<S, I, O>, label: string, ops: readonly Operation<I, O>[], maxSteps: number, deadline: LinearizabilityOptions['deadline']): FailingWindow<I, O> {
  const budget = new Budget(maxSteps, deadline)
  const fails = (candidate: readonly Operation<I, O>[]): boolean => search(model, candidate, budget) === 'violation'
  // 1. The shortest failing prefix: non-linearizability is monotone in the prefix end.
  const returns = [...new Set(ops.filter((o) => o.outcome === 'ok').map((o) => o.returnMs!))].sort((a, b) => a - b)
  let lo = 0
  let hi = returns.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (fails(prefixAt(ops, returns[mid]!))) hi = mid
    else lo = mid + 1
  }
  const endMs = returns[hi]!
  const prefix = prefixAt(ops, endMs)
  const lastOperations = prefix.filter((o) => o.outcome === 'ok' && o.returnMs === endMs)
  // 2. Weaken every operation that is not needed for the failure: the report keeps the operations
  //    that cannot be linearized even when every other operation of the prefix may or may not
  //    have taken effect (weakened operations stay in the trials as unknown, so that a read
  //    keeps the write it saw as a possible explanation). A few operations per trial, latest
  //    first: earlier operations tend to explain later ones, so they are kept when possible.
  const current = new Map(prefix.map((o) => [o.id, o]))
  let remaining = prefix
    .filter((o) => o.outcome === 'ok' && !(lastOperations.length === 1 && o.returnMs === endMs))
    .sort((a, b) => b.callMs - a.callMs || b.id - a.id)
    .map((o) => o.id)
  for (const chunk of [8, 4, 2, 1]) {
    if (chunk > 1 && 4 * chunk > remaining.length) continue
    const kept: number[] = []
    for (let i = 0; i < remaining.length; i += chunk) {
      const part = remaining.slice(i, i + chunk)
      const trial = new Map(current)
      for (const id of part) trial.set(id, weaken(trial.get(id)!))
      if (fails([...trial.values()])) {
        for (const id of part) current.set(id, trial.get(id)!)
      } else kept.push(...part)
    }
    remaining = kept
  }
  // The weakened and unknown operations are left out of the report: removing them keeps the
  // history failing (an order without them is an order in which they never took effect).
  const involved = [...current.values()].filter((o) => o.outcome === 'ok')
  const minimal = !budget.exhausted
  const window = { partition: label, prefixEndMs: endMs, prefixSize: prefix.length, lastOperations, operations: involved, minimal }
  return { ...window, text: renderWindow(model, window) }
}

/**
 * Checks a history against a model. Deterministic: the same history, model and budget give the
 * same result.
 *
 * @throws DerError `DER_INVAL` for a malformed history or budget.
 */
export function checkLinearizability<S, I, O>(model: Model<S, I, O>, history: History<I, O>, options: LinearizabilityOptions = {}): LinearizabilityResult<I, O> {
  validateHistory(history)
  const maxSteps = options.maxSteps ?? 10_000_000
  const maxMinimizeSteps = options.maxMinimizeSteps ?? 2_000_000
  for (const [name, value] of [['maxSteps', maxSteps], ['maxMinimizeSteps', maxMinimizeSteps]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new DerError('DER_INVAL', `${name} must be a positive integer, got ${value}`)
  }
  const relevant = history.filter((op) => op.outcome !== 'failed')
  const partitions = model.partition?.(relevant) ?? [{ label: 'all', operations: relevant }]
  const budget = new Budget(maxSteps, options.deadline)
  const verdicts: PartitionVerdict[] = []
  const violations: FailingWindow<I, O>[] = []
  for (const part of partitions) {
    const before = budget.used
    const verdict = search(model, part.operations, budget)
    verdicts.push({ label: part.label, verdict, operations: part.operations.length, steps: budget.used - before })
    if (verdict === 'violation') violations.push(minimalWindow(model, part.label, part.operations, maxMinimizeSteps, options.deadline))
  }
  const exhausted = verdicts.some((v) => v.verdict === 'budget-exhausted')
  return {
    verdict: violations.length > 0 ? 'violation' : exhausted ? 'budget-exhausted' : 'linearizable',
    steps: budget.used,
    budgetExhausted: exhausted,
    partitions: verdicts,
    violations,
  }
}

/** Builds a `partition` function that groups operations by a key of their input, in key order. */
export function partitionBy<I, O>(keyOf: (input: I) => string): (history: History<I, O>) => readonly HistoryPartition<I, O>[] {
  return (history) => {
    const groups = new Map<string, Operation<I, O>[]>()
    for (const op of history) {
      const key = keyOf(op.input)
      let group = groups.get(key)
      if (group === undefined) groups.set(key, (group = []))
      group.push(op)
    }
    return [...groups.keys()].sort().map((key) => ({ label: `key ${JSON.stringify(key)}`, operations: groups.get(key)! }))
  }
}
