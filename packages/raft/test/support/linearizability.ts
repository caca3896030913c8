// A linearizability checker for a key-value store of registers (Wing & Gong's search with
// memoization, as in Lowe's / Porcupine's checkers), checked key by key (P-compositionality).
// Writes whose outcome is unknown have response = Infinity and may or may not take effect.

export interface Operation {
  readonly client: number
  readonly kind: 'put' | 'get'
  readonly key: string
  /** The value written (put) or read (get; undefined = absent). */
  readonly value: string | undefined
  readonly invokeMs: number
  /** Infinity when the client never learned the outcome (puts only). */
  readonly responseMs: number
}

export interface CheckResult {
  readonly ok: boolean
  readonly key?: string
  readonly explored: number
}

/** Checks one key's history; returns whether some linearization explains it. */
export function checkRegister(ops: readonly Operation[], budget = 2_000_000): { ok: boolean; explored: number } {
  const n = ops.length
  const sorted = [...ops].sort((a, b) => a.invokeMs - b.invokeMs)
  const mustLinearize = sorted.map((o) => Number.isFinite(o.responseMs))
  const remainingRequired = mustLinearize.filter(Boolean).length
  const done = new Uint8Array(n)
  const seen = new Set<string>()
  let explored = 0

  const search = (value: string | undefined, required: number): boolean => {
    if (required === 0) return true
    if (++explored > budget) throw new Error(`linearizability search exceeded ${budget} states`)
    const key = `${String(value)}|${Array.from(done).join('')}`
    if (seen.has(key)) return false
    seen.add(key)
    // An operation can go next only if it was invoked before every pending op's response.
    let minResponse = Infinity
    for (let i = 0; i < n; i++) if (done[i] === 0 && (sorted[i] as Operation).responseMs < minResponse) minResponse = (sorted[i] as Operation).responseMs
    for (let i = 0; i < n; i++) {
      const op = sorted[i] as Operation
      if (done[i] === 1) continue
      if (op.invokeMs > minResponse) break
      if (op.kind === 'get' && op.value !== value) continue
      done[i] = 1
      const next = op.kind === 'put' ? op.value : value
      if (search(next, required - (mustLinearize[i] === true ? 1 : 0))) return true
      done[i] = 0
    }
    return false
  }
  const ok = search(undefined, remainingRequired)
  return { ok, explored }
}

/** Checks a whole history, key by key. */
export function checkHistory(ops: readonly Operation[]): CheckResult {
  const byKey = new Map<string, Operation[]>()
  for (const op of ops) {
    const list = byKey.get(op.key) ?? []
    list.push(op)
    byKey.set(op.key, list)
  }
  let explored = 0
  for (const [key, list] of byKey) {
    const r = checkRegister(list)
    explored += r.explored
    if (!r.ok) return { ok: false, key, explored }
  }
  return { ok: true, explored }
}
