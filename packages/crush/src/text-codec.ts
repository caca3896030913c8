/**
 * The text map format of `crushtool -c` (compile) and `crushtool -d` (decompile).
 *
 * @module
 */
import { DerError } from '@x/common'
import { bucketItemWeight, makeBucket } from './buckets.ts'
import { getOrCreateClassId, placeBucket, populateClasses } from './classes.ts'
import {
  BucketAlg,
  type BucketAlgId,
  CRUSH_MAX_BUCKET_WEIGHT,
  CRUSH_MAX_DEVICE_WEIGHT,
  type ChooseArg,
  type CrushMap,
  type CrushStep,
  RuleOp,
  bucketAlgNames,
  emptyMap,
} from './model.ts'
import { finalizeMap } from './finalize.ts'

/** The largest device id the codecs accept, plus one (keeps per-device arrays allocatable). */
export const MAX_DEVICE_ID = 1 << 24

interface Token {
  text: string
  line: number
}

/** A failure to compile a text map: `DER_INVAL` with the file name and line. */
function parseError(file: string, line: number, message: string): DerError {
  return new DerError('DER_INVAL', `${file}:${line} error: ${message}`, { details: { line } })
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i] ?? ''
    const hash = l.indexOf('#')
    if (hash >= 0) l = l.slice(0, hash)
    const re = /[{}[\]]|[^\s{}[\]]+/g
    for (const m of l.matchAll(re)) tokens.push({ text: m[0], line: i + 1 })
  }
  return tokens
}

/** Ceph's `strtof` then `* (float)0x10000` and truncation to an unsigned 16.16 weight. */
export function parseWeight(text: string): number {
  const f = Math.fround(Number.parseFloat(text))
  if (!Number.isFinite(f)) return 0
  const v = Math.fround(f * 65536)
  if (v <= 0) return v <= -1 ? (Math.trunc(v) >>> 0) : 0
  return v >= 0x100000000 ? 0xffffffff : Math.trunc(v)
}

/** Formats a 16.16 weight as crushtool's `%.3f` of `(float)w / 0x10000` (round half to even). */
export function formatWeight(w: number): string {
  const signed = w | 0
  const f = Math.fround(signed) // exact float value of the integer, then /65536 is exact
  const neg = f < 0
  const a = Math.abs(f)
  const scaled = a * 1000
  let q = Math.floor(scaled / 65536)
  const rem = scaled - q * 65536
  if (rem * 2 > 65536 || (rem * 2 === 65536 && q % 2 === 1)) q++
  const s = `${Math.floor(q / 1000)}.${String(q % 1000).padStart(3, '0')}`
  return neg && q !== 0 ? `-${s}` : s
}

function strtol(text: string): number {
  const m = /^[+-]?\d+/.exec(text.trim())
  if (m === null) return 0
  const v = Number(m[0])
  return v
}

interface BucketNode {
  kind: 'bucket'
  typeName: string
  name: string
  ids: { id: number; cls?: string }[]
  alg?: string
  hash?: string
  items: { name: string; weight?: string; pos?: number; line: number }[]
  line: number
}
interface RuleNode {
  kind: 'rule'
  name: string
  id: number
  type: string
  minSize: number
  maxSize: number
  steps: { words: string[]; line: number }[]
  line: number
}
interface ChooseArgsNode {
  kind: 'choose_args'
  index: bigint
  args: { bucketId: number; weightSet?: string[][]; ids?: number[]; line: number }[]
  line: number
}
type Node =
  | { kind: 'tunable'; name: string; value: number; line: number }
  | { kind: 'device'; id: number; name: string; cls?: string; line: number }
  | { kind: 'type'; id: number; name: string; line: number }
  | BucketNode
  | RuleNode
  | ChooseArgsNode

class Parser {
  private pos = 0
  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos]
  }
  private lastLine(): number {
    return this.tokens[this.pos]?.line ?? this.tokens[this.tokens.length - 1]?.line ?? 1
  }
  private next(what: string): Token {
    const t = this.tokens[this.pos]
    if (t === undefined) throw parseError(this.file, this.lastLine(), `parse error: expected ${what} at end of input`)
    this.pos++
    return t
  }
  private expect(text: string): Token {
    const t = this.next(`'${text}'`)
    if (t.text !== text) throw parseError(this.file, t.line, `parse error at '${t.text}' (expected '${text}')`)
    return t
  }
  private int(what: string): number {
    const t = this.next(what)
    if (!/^[+-]?\d+$/.test(t.text)) throw parseError(this.file, t.line, `parse error at '${t.text}' (expected ${what})`)
    const v = Number(t.text)
    if (v < -0x80000000 || v > 0xffffffff) throw parseError(this.file, t.line, `${what} ${t.text} is out of range`)
    return v
  }
  private name(what: string): Token {
    const t = this.next(what)
    if (!/^[A-Za-z0-9_.-]+$/.test(t.text)) throw parseError(this.file, t.line, `parse error at '${t.text}' (expected ${what})`)
    return t
  }

  parse(): Node[] {
    const nodes: Node[] = []
    while (this.peek() !== undefined) nodes.push(this.statement())
    return nodes
  }

  private statement(): Node {
    const t = this.next('a statement')
    switch (t.text) {
      case 'tunable': {
        const name = this.name('tunable name').text
        const value = this.int('tunable value')
        return { kind: 'tunable', name, value, line: t.line }
      }
      case 'device': {
        const id = this.int('device id')
        const name = this.name('device name').text
        let cls: string | undefined
        if (this.peek()?.text === 'class') {
          this.pos++
          cls = this.name('class name').text
        }
        return cls === undefined ? { kind: 'device', id, name, line: t.line } : { kind: 'device', id, name, cls, line: t.line }
      }
      case 'type': {
        const id = this.int('type id')
        const name = this.name('type name').text
        return { kind: 'type', id, name, line: t.line }
      }
      case 'rule':
        return this.rule(t)
      case 'choose_args':
        return this.chooseArgs(t)
      default:
        if (!/^[A-Za-z0-9_.-]+$/.test(t.text)) throw parseError(this.file, t.line, `parse error at '${t.text}'`)
        return this.bucket(t)
    }
  }

  private bucket(t: Token): BucketNode {
    const name = this.name('bucket name').text
    this.expect('{')
    const node: BucketNode = { kind: 'bucket', typeName: t.text, name, ids: [], items: [], line: t.line }
    for (;;) {
      const k = this.next("'}'")
      if (k.text === '}') break
      switch (k.text) {
        case 'id': {
          const id = this.int('bucket id')
          if (this.peek()?.text === 'class') {
            this.pos++
            node.ids.push({ id, cls: this.name('class name').text })
          } else node.ids.push({ id })
          break
        }
        case 'alg':
          node.alg = this.name('bucket algorithm').text
          break
        case 'hash':
          node.hash = this.name('hash').text
          break
        case 'item': {
          const item: BucketNode['items'][number] = { name: this.name('item name').text, line: k.line }
          for (;;) {
            const p = this.peek()?.text
            if (p === 'weight') {
              this.pos++
              const w = this.next('weight')
              if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(w.text)) throw parseError(this.file, w.line, `parse error at '${w.text}' (expected a weight)`)
              item.weight = w.text
            } else if (p === 'pos') {
              this.pos++
              item.pos = this.int('position')
            } else break
          }
          node.items.push(item)
          break
        }
        default:
          throw parseError(this.file, k.line, `parse error at '${k.text}' in bucket '${name}'`)
      }
    }
    return node
  }

  private rule(t: Token): RuleNode {
    let name = ''
    if (this.peek()?.text !== '{') name = this.name('rule name').text
    this.expect('{')
    const idWord = this.next("'id'")
    if (idWord.text !== 'id' && idWord.text !== 'ruleset') throw parseError(this.file, idWord.line, `parse error at '${idWord.text}' (expected 'id')`)
    const id = this.int('rule id')
    this.expect('type')
    const type = this.next('rule type')
    if (type.text !== 'replicated' && type.text !== 'erasure') throw parseError(this.file, type.line, `parse error at '${type.text}' (rule type must be replicated or erasure)`)
    const minWord = this.next("'min_size'")
    if (minWord.text !== 'min_size') throw parseError(this.file, minWord.line, `parse error at '${minWord.text}' (min_size and max_size are required)`)
    const minSize = this.int('min_size')
    this.expect('max_size')
    const maxSize = this.int('max_size')
    const steps: RuleNode['steps'] = []
    for (;;) {
      const k = this.next("'}'")
      if (k.text === '}') break
      if (k.text !== 'step') throw parseError(this.file, k.line, `parse error at '${k.text}' (expected 'step')`)
      const op = this.next('a step')
      const words = [op.text]
      const arity: Record<string, number> = {
        take: 1, emit: 0, noop: 0, choose: 4, chooseleaf: 4, set_choose_tries: 1, set_chooseleaf_tries: 1,
        set_choose_local_tries: 1, set_choose_local_fallback_tries: 1, set_chooseleaf_vary_r: 1, set_chooseleaf_stable: 1,
      }
      const n = arity[op.text]
      if (n === undefined) throw parseError(this.file, op.line, `parse error at '${op.text}' (unknown step)`)
      for (let i = 0; i < n; i++) words.push(this.next('a step argument').text)
      if (op.text === 'take' && this.peek()?.text === 'class') {
        this.pos++
        words.push('class', this.name('class name').text)
      }
      steps.push({ words, line: op.line })
    }
    return { kind: 'rule', name, id, type: type.text, minSize, maxSize, steps, line: t.line }
  }

  private chooseArgs(t: Token): ChooseArgsNode {
    const idx = this.next('choose_args index')
    if (!/^-?\d+$/.test(idx.text)) throw parseError(this.file, idx.line, `parse error at '${idx.text}'`)
    let index = BigInt(idx.text)
    if (index >= 1n << 63n) index -= 1n << 64n
    this.expect('{')
    const node: ChooseArgsNode = { kind: 'choose_args', index, args: [], line: t.line }
    for (;;) {
      const k = this.next("'}'")
      if (k.text === '}') break
      if (k.text !== '{') throw parseError(this.file, k.line, `parse error at '${k.text}'`)
      this.expect('bucket_id')
      const arg: ChooseArgsNode['args'][number] = { bucketId: this.int('bucket id'), line: k.line }
      for (;;) {
        const p = this.next("'}'")
        if (p.text === '}') break
        if (p.text === 'weight_set') {
          this.expect('[')
          const rows: string[][] = []
          for (;;) {
            const r = this.next("']'")
            if (r.text === ']') break
            if (r.text !== '[') throw parseError(this.file, r.line, `parse error at '${r.text}'`)
            const row: string[] = []
            for (;;) {
              const v = this.next("']'")
              if (v.text === ']') break
              row.push(v.text)
            }
            rows.push(row)
          }
          arg.weightSet = rows
        } else if (p.text === 'ids') {
          this.expect('[')
          const ids: number[] = []
          for (;;) {
            const v = this.next("']'")
            if (v.text === ']') break
            if (!/^[+-]?\d+$/.test(v.text)) throw parseError(this.file, v.line, `parse error at '${v.text}'`)
            ids.push(Number(v.text))
          }
          arg.ids = ids
        } else throw parseError(this.file, p.line, `parse error at '${p.text}'`)
      }
      node.args.push(arg)
    }
    return node
  }
}

const tunableNames: Record<string, keyof CrushMap['tunables']> = {
  choose_local_tries: 'chooseLocalTries',
  choose_local_fallback_tries: 'chooseLocalFallbackTries',
  choose_total_tries: 'chooseTotalTries',
  chooseleaf_descend_once: 'chooseleafDescendOnce',
  chooseleaf_vary_r: 'chooseleafVaryR',
  chooseleaf_stable: 'chooseleafStable',
  straw_calc_version: 'strawCalcVersion',
  allowed_bucket_algs: 'allowedBucketAlgs',
}

/**
 * Compiles a text map the way `crushtool -c` does: legacy tunables first, buckets built by
 * Ceph's builders, shadow trees for device classes before the first rule, max_devices
 * finalized. Errors are `DER_INVAL` with `file:line`.
 */
export function parseCrushText(text: string, file = '<input>'): CrushMap {
  const nodes = new Parser(tokenize(text), file).parse()
  // adjust_bucket_item_place: swap bucket definitions so children come first
  const bucketIdx: number[] = []
  nodes.forEach((n, i) => {
    if (n.kind === 'bucket') bucketIdx.push(i)
  })
  const names = bucketIdx.map((i) => (nodes[i] as BucketNode).name)
  const itemsOf = new Map<string, Set<string>>()
  for (const i of bucketIdx) {
    const b = nodes[i] as BucketNode
    itemsOf.set(b.name, new Set(b.items.map((it) => it.name)))
  }
  const slotOf = new Map<string, number>()
  bucketIdx.forEach((idx, k) => slotOf.set(names[k] ?? '', idx))
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const ni = names[i] ?? ''
      const nj = names[j] ?? ''
      if (itemsOf.get(ni)?.has(nj) ?? false) {
        if (itemsOf.get(nj)?.has(ni) ?? false) throw new DerError('DER_INVAL', `bucket  '${ni}' and bucket '${nj}' are included each other`)
        const si = slotOf.get(ni) ?? 0
        const sj = slotOf.get(nj) ?? 0
        const tmp = nodes[si] as Node
        nodes[si] = nodes[sj] as Node
        nodes[sj] = tmp
        slotOf.set(ni, sj)
        slotOf.set(nj, si)
      }
    }
  }

  const map = emptyMap()
  const itemId = new Map<string, number>()
  const idItem = new Set<number>()
  const itemWeight = new Map<number, number>()
  const typeId = new Map<string, number>()
  const ruleIds = new Set<string>()
  const classBucket = new Map<number, Map<number, number>>()
  for (const n of nodes) if (n.kind === 'bucket') for (const id of n.ids) if (id.cls === undefined) idItem.add(id.id)
  let sawRule = false
  for (const n of nodes) {
    switch (n.kind) {
      case 'tunable': {
        const key = tunableNames[n.name]
        if (key === undefined) throw parseError(file, n.line, `tunable ${n.name} not recognized`)
        map.tunables[key] = n.value
        break
      }
      case 'device': {
        if (itemId.has(n.name)) throw parseError(file, n.line, `item ${n.name} defined twice`)
        if (n.id < 0) throw parseError(file, n.line, `device id ${n.id} is negative`)
        if (n.id >= MAX_DEVICE_ID) throw parseError(file, n.line, `device id ${n.id} is too large (limit ${MAX_DEVICE_ID - 1})`)
        map.names.set(n.id, n.name)
        itemId.set(n.name, n.id)
        idItem.add(n.id)
        if (n.cls !== undefined) map.classMap.set(n.id, getOrCreateClassId(map, n.cls))
        break
      }
      case 'type':
        typeId.set(n.name, n.id)
        map.typeNames.set(n.id, n.name)
        break
      case 'bucket': {
        if (sawRule) throw parseError(file, n.line, 'buckets must be defined before rules')
        const type = typeId.get(n.typeName)
        if (type === undefined) throw parseError(file, n.line, `bucket type '${n.typeName}' is not defined`)
        if (itemId.has(n.name)) throw parseError(file, n.line, `bucket or device '${n.name}' is already defined`)
        let id = 0
        const classIds = new Map<number, number>()
        for (const e of n.ids) {
          if (e.cls !== undefined) {
            const cid = getOrCreateClassId(map, e.cls)
            if (classIds.has(cid)) throw parseError(file, n.line, `duplicate device class ${e.cls} for bucket ${n.name}`)
            classIds.set(cid, e.id)
          } else id = e.id
        }
        const algName = n.alg ?? ''
        const alg = ({ uniform: 1, list: 2, tree: 3, straw: 4, straw2: 5 } as Record<string, BucketAlgId>)[algName]
        if (alg === undefined) throw parseError(file, n.line, `unknown bucket alg '${algName}'`)
        const hash = n.hash === undefined || n.hash === 'rjenkins1' ? 0 : strtol(n.hash)
        const usedPos = new Set<number>()
        for (const it of n.items) {
          if (it.pos !== undefined) {
            if (usedPos.has(it.pos)) throw parseError(file, it.line, `item '${it.name}' in bucket '${n.name}' has explicit pos ${it.pos}, which is occupied`)
            usedPos.add(it.pos)
          }
        }
        let size = n.items.length
        if (usedPos.size > 0) size = Math.max(size, Math.max(...usedPos))
        const items = new Array<number>(size).fill(0)
        const weights = new Array<number>(size).fill(0)
        let curpos = 0
        let bucketWeight = 0
        let uniformWeight: number | undefined
        for (const it of n.items) {
          const iid = itemId.get(it.name)
          if (iid === undefined) throw parseError(file, it.line, `item '${it.name}' in bucket '${n.name}' is not defined`)
          let weight = itemWeight.get(iid) ?? 0x10000
          if (it.weight !== undefined) {
            weight = parseWeight(it.weight)
            if (weight > CRUSH_MAX_DEVICE_WEIGHT && iid >= 0) throw parseError(file, it.line, `device weight limited to ${CRUSH_MAX_DEVICE_WEIGHT / 0x10000}`)
            if (weight > CRUSH_MAX_BUCKET_WEIGHT && iid < 0) throw parseError(file, it.line, `bucket weight limited to ${CRUSH_MAX_BUCKET_WEIGHT / 0x10000} to prevent overflow`)
          }
          if (alg === BucketAlg.uniform) {
            if (uniformWeight === undefined) uniformWeight = weight
            else if (uniformWeight !== weight) throw parseError(file, it.line, `item '${it.name}' in uniform bucket '${n.name}' has weight ${weight} but previous item(s) have weight ${uniformWeight / 0x10000}; uniform bucket items must all have identical weights.`)
          }
          let pos = it.pos ?? -1
          if (pos >= size) throw parseError(file, it.line, `item '${it.name}' in bucket '${n.name}' has pos ${pos} >= size ${size}`)
          if (pos < 0) {
            while (usedPos.has(curpos)) curpos++
            pos = curpos++
          }
          items[pos] = iid
          weights[pos] = weight
          if (bucketWeight + weight > 0xffffffff) throw parseError(file, it.line, 'oh no! our bucket weights are overflowing all over the place, better lower the item weights')
          bucketWeight += weight
        }
        if (id === 0) {
          id = -1
          while (idItem.has(id)) id--
        }
        if (alg === BucketAlg.uniform && size > 0 && (uniformWeight ?? 0) === 0) throw parseError(file, n.line, `uniform bucket '${n.name}' has items of weight 0`)
        if (classIds.size > 0) classBucket.set(id, classIds)
        idItem.add(id)
        itemId.set(n.name, id)
        itemWeight.set(id, bucketWeight)
        const b = makeBucket(alg, hash, type, items, weights, map.tunables.strawCalcVersion, id)
        try {
          placeBucket(map, b)
        } catch {
          throw parseError(file, n.line, `Duplicate bucket id ${id}`)
        }
        map.names.set(id, n.name)
        break
      }
      case 'rule': {
        if (!sawRule) {
          sawRule = true
          populateClasses(map, classBucket)
        }
        if (n.name !== '' && ruleIds.has(n.name)) throw parseError(file, n.line, `rule name '${n.name}' already defined`)
        if (n.id < 0 || n.id >= 256) throw parseError(file, n.line, `unable to add rule id ${n.id} for rule '${n.name}'`)
        if (map.rules[n.id] !== undefined) throw parseError(file, n.line, `rule ${n.id} already exists`)
        const steps: CrushStep[] = []
        for (const s of n.steps) steps.push(compileStep(map, s.words, s.line, n.name, itemId, typeId, file))
        if (map.rules.length <= n.id) map.rules.length = n.id + 1
        map.rules[n.id] = {
          id: n.id,
          ruleset: n.id,
          type: n.type === 'replicated' ? 1 : 3,
          minSize: n.minSize & 0xff,
          maxSize: n.maxSize & 0xff,
          steps,
        }
        if (n.name !== '') {
          map.ruleNames.set(n.id, n.name)
          ruleIds.add(n.name)
        }
        break
      }
      case 'choose_args': {
        if (map.chooseArgs.has(n.index)) throw parseError(file, n.line, `${n.index} duplicated`)
        const args = new Map<number, ChooseArg>()
        for (const a of n.args) {
          const b = a.bucketId < 0 ? map.buckets[-1 - a.bucketId] : undefined
          if (-1 - a.bucketId < 0 || -1 - a.bucketId >= map.buckets.length) throw parseError(file, a.line, `${a.bucketId} is out of range`)
          if (b === undefined) throw parseError(file, a.line, `${a.bucketId} does not exist`)
          const entry: ChooseArg = {}
          if (a.weightSet !== undefined) {
            entry.weightSet = a.weightSet.map((row) => {
              if (row.length !== b.items.length) throw parseError(file, a.line, `${a.bucketId} needs exactly ${b.items.length} weights but got ${row.length}`)
              return row.map(parseWeight)
            })
          }
          if (a.ids !== undefined) {
            if (a.ids.length !== b.items.length) throw parseError(file, a.line, `${a.bucketId} needs exactly ${b.items.length} ids but got ${a.ids.length}`)
            entry.ids = a.ids
          }
          args.set(a.bucketId, entry)
        }
        map.chooseArgs.set(n.index, args)
        break
      }
    }
  }
  finalizeMap(map)
  return map
}

function compileStep(
  map: CrushMap,
  words: string[],
  line: number,
  ruleName: string,
  itemId: Map<string, number>,
  typeId: Map<string, number>,
  file: string,
): CrushStep {
  const op = words[0] ?? ''
  const arg = (i: number): number => {
    const w = words[i] ?? ''
    if (!/^[+-]?\d+$/.test(w)) throw parseError(file, line, `parse error at '${w}'`)
    const v = Number(w)
    if (v < -0x80000000 || v > 0x7fffffff) throw parseError(file, line, `step argument ${w} is out of range`)
    return v
  }
  switch (op) {
    case 'take': {
      const item = words[1] ?? ''
      let id = itemId.get(item)
      if (id === undefined) throw parseError(file, line, `in rule '${ruleName}' item '${item}' not defined`)
      if (words[2] === 'class') {
        const cls = words[3] ?? ''
        let cid = -1
        for (const [k, v] of map.classNames) if (v === cls) cid = k
        if (cid < 0) throw parseError(file, line, `in rule '${ruleName}' class '${cls}' not defined`)
        const cb = map.classBuckets.get(id)
        if (cb === undefined) throw parseError(file, line, `in rule '${ruleName}' step take ${item} has no class information`)
        const shadow = cb.get(cid)
        if (shadow === undefined) throw parseError(file, line, `in rule '${ruleName}' step take ${item} no matching bucket for class ${cls}`)
        id = shadow
      }
      return { op: RuleOp.take, arg1: id, arg2: 0 }
    }
    case 'emit':
      return { op: RuleOp.emit, arg1: 0, arg2: 0 }
    case 'noop':
      return { op: RuleOp.noop, arg1: 0, arg2: 0 }
    case 'set_choose_tries':
      return { op: RuleOp.setChooseTries, arg1: arg(1), arg2: 0 }
    case 'set_chooseleaf_tries':
      return { op: RuleOp.setChooseleafTries, arg1: arg(1), arg2: 0 }
    case 'set_choose_local_tries':
      return { op: RuleOp.setChooseLocalTries, arg1: arg(1), arg2: 0 }
    case 'set_choose_local_fallback_tries':
      return { op: RuleOp.setChooseLocalFallbackTries, arg1: arg(1), arg2: 0 }
    case 'set_chooseleaf_vary_r':
      return { op: RuleOp.setChooseleafVaryR, arg1: arg(1), arg2: 0 }
    case 'set_chooseleaf_stable':
      return { op: RuleOp.setChooseleafStable, arg1: arg(1), arg2: 0 }
    default: {
      // choose|chooseleaf firstn|indep N type T
      const mode = words[1]
      if (mode !== 'firstn' && mode !== 'indep') throw parseError(file, line, `parse error at '${mode ?? ''}'`)
      if (words[3] !== 'type') throw parseError(file, line, `parse error at '${words[3] ?? ''}'`)
      const n = arg(2)
      const tname = words[4] ?? ''
      const t = typeId.get(tname)
      if (t === undefined) throw parseError(file, line, `in rule '${ruleName}' type '${tname}' not defined`)
      const leaf = op === 'chooseleaf'
      const opcode = mode === 'firstn' ? (leaf ? RuleOp.chooseleafFirstn : RuleOp.chooseFirstn) : leaf ? RuleOp.chooseleafIndep : RuleOp.chooseIndep
      return { op: opcode, arg1: n, arg2: t }
    }
  }
}

function typeName(map: CrushMap, t: number): string {
  return map.typeNames.get(t) ?? (t === 0 ? 'device' : `type${t}`)
}
function itemName(map: CrushMap, id: number): string {
  return map.names.get(id) ?? (id >= 0 ? `device${id}` : `bucket${-1 - id}`)
}

/** Splits a shadow bucket id into its original bucket and class (`split_id_class`). */
export function splitIdClass(map: CrushMap, id: number): { original: number; classId: number } {
  const name = map.names.get(id)
  if (name === undefined || !name.includes('~')) return { original: id, classId: -1 }
  const [base, cls] = name.split('~')
  let original = id
  for (const [k, v] of map.names) if (v === base) original = k
  let classId = -1
  for (const [k, v] of map.classNames) if (v === cls) classId = k
  return { original, classId }
}

/** Prints a map the way `crushtool -d` does, byte for byte. */
export function printCrushText(map: CrushMap): string {
  const out: string[] = []
  const t = map.tunables
  out.push('# begin crush map\n')
  if (t.chooseLocalTries !== 2) out.push(`tunable choose_local_tries ${t.chooseLocalTries}\n`)
  if (t.chooseLocalFallbackTries !== 5) out.push(`tunable choose_local_fallback_tries ${t.chooseLocalFallbackTries}\n`)
  if (t.chooseTotalTries !== 19) out.push(`tunable choose_total_tries ${t.chooseTotalTries}\n`)
  if (t.chooseleafDescendOnce !== 0) out.push(`tunable chooseleaf_descend_once ${t.chooseleafDescendOnce}\n`)
  if (t.chooseleafVaryR !== 0) out.push(`tunable chooseleaf_vary_r ${t.chooseleafVaryR}\n`)
  if (t.chooseleafStable !== 0) out.push(`tunable chooseleaf_stable ${t.chooseleafStable}\n`)
  if (t.strawCalcVersion !== 0) out.push(`tunable straw_calc_version ${t.strawCalcVersion}\n`)
  if (t.allowedBucketAlgs !== 22) out.push(`tunable allowed_bucket_algs ${t.allowedBucketAlgs}\n`)
  out.push('\n# devices\n')
  const deviceIds = [...map.names.keys()].filter((i) => i >= 0 && i < map.maxDevices).sort((a, b) => a - b)
  for (const i of deviceIds) {
    const name = map.names.get(i)
    if (name === undefined) continue
    const cid = map.classMap.get(i)
    const cls = cid === undefined ? undefined : map.classNames.get(cid)
    out.push(`device ${i} ${name}${cls === undefined ? '' : ` class ${cls}`}\n`)
  }
  out.push('\n# types\n')
  // Ceph walks ids up from 0 until it has printed every name (negative type ids never print)
  const typeIds = [...map.typeNames.keys()].filter((i) => i >= 0).sort((a, b) => a - b)
  if (map.typeNames.size > 0 && !map.typeNames.has(0)) out.push('type 0 osd\n')
  for (const i of typeIds) out.push(`type ${i} ${map.typeNames.get(i) ?? ''}\n`)
  out.push('\n# buckets\n')
  const done = new Set<number>()
  const inProgress = new Set<number>()
  const visit = (id: number): void => {
    if (id >= 0 || map.buckets[-1 - id] === undefined || done.has(id)) return
    if (inProgress.has(id)) throw new DerError('DER_INVAL', `bucket ${id} contains a bucket that contains it; buckets must form a directed acyclic graph`)
    inProgress.add(id)
    const b = map.buckets[-1 - id]
    if (b === undefined) return
    for (const it of b.items) visit(it)
    printBucket(map, id, out)
    inProgress.delete(id)
    done.add(id)
  }
  for (let id = -1; id > -1 - map.buckets.length; id--) visit(id)
  out.push('\n# rules\n')
  for (let i = 0; i < map.rules.length; i++) {
    const r = map.rules[i]
    if (r === undefined) continue
    out.push(`rule ${map.ruleNames.get(i) ?? ''} {\n`)
    out.push(`\tid ${i}\n`)
    if (r.ruleset !== i) out.push(`\t# WARNING: ruleset ${r.ruleset} != id ${i}; this will not recompile to the same map\n`)
    out.push(r.type === 1 ? '\ttype replicated\n' : r.type === 3 ? '\ttype erasure\n' : `\ttype ${r.type}\n`)
    out.push(`\tmin_size ${r.minSize}\n`)
    out.push(`\tmax_size ${r.maxSize}\n`)
    for (const s of r.steps) {
      switch (s.op) {
        case RuleOp.noop:
          out.push('\tstep noop\n')
          break
        case RuleOp.take: {
          const { original, classId } = splitIdClass(map, s.arg1)
          if (classId >= 0) out.push(`\tstep take ${itemName(map, original)} class ${map.classNames.get(classId) ?? ''}\n`)
          else out.push(`\tstep take ${itemName(map, s.arg1)}\n`)
          break
        }
        case RuleOp.emit:
          out.push('\tstep emit\n')
          break
        case RuleOp.setChooseTries:
          out.push(`\tstep set_choose_tries ${s.arg1}\n`)
          break
        case RuleOp.setChooseLocalTries:
          out.push(`\tstep set_choose_local_tries ${s.arg1}\n`)
          break
        case RuleOp.setChooseLocalFallbackTries:
          out.push(`\tstep set_choose_local_fallback_tries ${s.arg1}\n`)
          break
        case RuleOp.setChooseleafTries:
          out.push(`\tstep set_chooseleaf_tries ${s.arg1}\n`)
          break
        case RuleOp.setChooseleafVaryR:
          out.push(`\tstep set_chooseleaf_vary_r ${s.arg1}\n`)
          break
        case RuleOp.setChooseleafStable:
          out.push(`\tstep set_chooseleaf_stable ${s.arg1}\n`)
          break
        case RuleOp.chooseFirstn:
          out.push(`\tstep choose firstn ${s.arg1} type ${typeName(map, s.arg2)}\n`)
          break
        case RuleOp.chooseIndep:
          out.push(`\tstep choose indep ${s.arg1} type ${typeName(map, s.arg2)}\n`)
          break
        case RuleOp.chooseleafFirstn:
          out.push(`\tstep chooseleaf firstn ${s.arg1} type ${typeName(map, s.arg2)}\n`)
          break
        case RuleOp.chooseleafIndep:
          out.push(`\tstep chooseleaf indep ${s.arg1} type ${typeName(map, s.arg2)}\n`)
          break
        default:
          break
      }
    }
    out.push('}\n')
  }
  if (map.chooseArgs.size > 0) {
    out.push('\n# choose_args\n')
    const keys = [...map.chooseArgs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    for (const key of keys) {
      const args = map.chooseArgs.get(key)
      out.push(`choose_args ${BigInt.asUintN(64, key)} {\n`)
      if (args !== undefined) {
        const ids = [...args.keys()].filter((id) => id < 0).sort((a, b) => b - a)
        for (const id of ids) {
          const a = args.get(id)
          if (a === undefined) continue
          const hasWs = a.weightSet !== undefined && a.weightSet.length > 0
          const hasIds = a.ids !== undefined && a.ids.length > 0
          if (!hasWs && !hasIds) continue
          out.push('  {\n')
          out.push(`    bucket_id ${id}\n`)
          if (hasWs) {
            out.push('    weight_set [\n')
            for (const row of a.weightSet ?? []) out.push(`      [ ${row.map((w) => `${formatWeight(w)} `).join('')}]\n`)
            out.push('    ]\n')
          }
          if (hasIds) out.push(`    ids [ ${(a.ids ?? []).map((v) => `${v} `).join('')}]\n`)
          out.push('  }\n')
        }
      }
      out.push('}\n')
    }
  }
  out.push('\n# end crush map\n')
  return out.join('')
}

function printBucket(map: CrushMap, id: number, out: string[]): void {
  const name = map.names.get(id)
  if (name !== undefined && !/^[A-Za-z0-9_.-]+$/.test(name)) return
  const b = map.buckets[-1 - id]
  if (b === undefined) return
  out.push(`${typeName(map, b.type)} ${itemName(map, id)} {\n`)
  out.push(`\tid ${id}\t\t# do not change unnecessarily\n`)
  const cb = map.classBuckets.get(id)
  if (cb !== undefined) {
    for (const c of [...cb.keys()].sort((a, b2) => a - b2)) {
      out.push(`\tid ${cb.get(c) ?? 0} class ${map.classNames.get(c) ?? ''}\t\t# do not change unnecessarily\n`)
    }
  }
  out.push(`\t# weight ${formatWeight(b.weight)}\n`)
  const n = b.items.length
  out.push(`\talg ${bucketAlgNames[b.alg] ?? 'unknown'}`)
  let dopos = false
  if (b.alg === BucketAlg.uniform) {
    out.push(`\t# do not change bucket size (${n}) unnecessarily`)
    dopos = true
  } else if (b.alg === BucketAlg.list) out.push('\t# add new items at the end; do not change order unnecessarily')
  else if (b.alg === BucketAlg.tree) {
    out.push('\t# do not change pos for existing items unnecessarily')
    dopos = true
  }
  out.push('\n')
  out.push(`\thash ${b.hash}\t# ${b.hash === 0 ? 'rjenkins1' : 'unknown'}\n`)
  for (let j = 0; j < n; j++) {
    const item = b.items[j] ?? 0
    out.push(`\titem ${itemName(map, item)} weight ${formatWeight(bucketItemWeight(b, j))}${dopos ? ` pos ${j}` : ''}\n`)
  }
  out.push('}\n')
}
