/**
 * `crushtool`, compatible with Ceph's for compiling, decompiling, building, testing and
 * comparing CRUSH maps. The command is a function of its arguments and an injected
 * {@link CrushtoolIo}, so tests run it in-process.
 *
 * @module
 */
import { isDerError } from '@x/common'
import {
  type BuildLayer,
  type CrushMap,
  type CrushTestOptions,
  insertItem as insertDevice,
  buildMap,
  compareCrushMaps,
  decodeCrushMap,
  encodeCrushMap,
  isBinaryCrushMap,
  itemIdByName,
  moveBucket,
  parseCrushText,
  parseWeight,
  printCrushText,
  recomputeWeights,
  removeItem,
  reweightItem,
  runCrushTest,
} from '@x/crush'

/** What crushtool needs from the outside world. */
export interface CrushtoolIo {
  /** Writes text to standard output. */
  stdout(text: string): void
  /** Writes text to standard error. */
  stderr(text: string): void
  /** Reads a file (path already resolved). */
  readFile(path: string): Uint8Array
  /** Writes a file (path already resolved). */
  writeFile(path: string, data: Uint8Array | string): void
  /** Resolves a path given on the command line. */
  resolvePath(path: string): string
}

const me = 'crushtool'

class UsageError extends Error {}

/** The help text. */
export const crushtoolUsage = `usage: crushtool ...

Display, modify and test a crush map

there are five stages, running one after another:

 - input/build
 - tunables adjustments
 - modifications
 - display/test
 - output

Options that are not specified at any stage will be ignored.

input/build options:
   -i mapfn                     read the map (binary or text) from mapfn
   -c mapfn.txt                 compile a text map
   -d mapfn                     decompile a map (to stdout or -o)
   --build --num_osds N layer1 ...
                                build a new map, where each 'layer' is
                                  'name (uniform|straw2|straw|list|tree) size'

tunables adjustments:
   --set-choose-local-tries N, --set-choose-local-fallback-tries N,
   --set-choose-total-tries N, --set-chooseleaf-descend-once <0|1>,
   --set-chooseleaf-vary-r <0|1>, --set-chooseleaf-stable <0|1>,
   --set-straw-calc-version <0|1>, --set-allowed-bucket-algs BITMASK

modifications:
   --add-item id weight name --loc type name ...
   --remove-item name           remove a device or an empty bucket
   --move name --loc type name  move a bucket
   --reweight-item name weight  set an item's crush weight
   --reweight                   recompute all bucket weights

display/test:
   --test                       test a range of inputs on the map
      [--rule N] [--num-rep N] [--min-x X --max-x X | --x X]
      [--weight DEVNO WEIGHT] [--pool-id N]
      [--show-mappings] [--show-bad-mappings] [--show-statistics]
      [--show-utilization] [--show-utilization-all] [--show-choose-tries]
   --compare mapfn              compare the mappings of two maps

output:
   -o outfile                   write the (binary) map, or the decompiled text with -d
`

function parseIntArg(flag: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`option ${flag} requires an argument`)
  if (!/^[+-]?\d+$/.test(value)) throw new UsageError(`invalid integer '${value}' for ${flag}`)
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n > 0x7fffffff || n < -0x80000000) throw new UsageError(`integer '${value}' for ${flag} is out of range`)
  return n
}

function parseFloatArg(flag: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`option ${flag} requires an argument`)
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) throw new UsageError(`invalid number '${value}' for ${flag}`)
  return Number(value)
}

const tunableFlags: Record<string, keyof CrushMap['tunables']> = {
  'set-choose-local-tries': 'chooseLocalTries',
  'set-choose-local-fallback-tries': 'chooseLocalFallbackTries',
  'set-choose-total-tries': 'chooseTotalTries',
  'set-chooseleaf-descend-once': 'chooseleafDescendOnce',
  'set-chooseleaf-vary-r': 'chooseleafVaryR',
  'set-chooseleaf-stable': 'chooseleafStable',
  'set-straw-calc-version': 'strawCalcVersion',
  'set-allowed-bucket-algs': 'allowedBucketAlgs',
}

type Modification =
  | { kind: 'add'; id: number; weight: number; name: string; loc: [string, string][] }
  | { kind: 'remove'; name: string }
  | { kind: 'move'; name: string; loc: [string, string][] }
  | { kind: 'reweight-item'; name: string; weight: number }
  | { kind: 'reweight' }

/** Buffers output lines and hands them to the sink in large chunks. */
class LineWriter {
  private parts: string[] = []
  private size = 0
  constructor(private readonly sink: (text: string) => void) {}
  line(text: string): void {
    this.parts.push(text, '\n')
    this.size += text.length + 1
    if (this.size > 1 << 16) this.flush()
  }
  flush(): void {
    if (this.parts.length === 0) return
    this.sink(this.parts.join(''))
    this.parts = []
    this.size = 0
  }
}

function loadMap(io: CrushtoolIo, path: string): CrushMap {
  let bytes: Uint8Array
  const resolved = io.resolvePath(path)
  try {
    bytes = io.readFile(resolved)
  } catch (e) {
    const code = (e as { code?: string }).code
    const reason = code === 'ENOENT' ? '(2) No such file or directory' : code === 'EACCES' ? '(13) Permission denied' : code === 'EISDIR' ? '(21) Is a directory' : String((e as Error).message)
    throw new UsageError(`error reading '${path}': can't open ${path}: ${reason}`)
  }
  if (isBinaryCrushMap(bytes)) {
    try {
      return decodeCrushMap(bytes)
    } catch (e) {
      throw new UsageError(`unable to decode ${path}${isDerError(e) ? `: ${e.message}` : ''}`)
    }
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new UsageError(`unable to decode ${path}`)
  }
  try {
    return parseCrushText(text, path)
  } catch (e) {
    if (isDerError(e)) throw new UsageError(`unable to decode ${path}: ${e.message}`)
    throw e
  }
}

/**
 * Runs crushtool with `argv` (without the program name). Returns the exit status; never
 * throws for bad input (messages go to standard error).
 */
export function runCrushtool(argv: readonly string[], io: CrushtoolIo): number {
  const out = new LineWriter((t) => io.stdout(t))
  const err = new LineWriter((t) => io.stderr(t))
  try {
    return crushtool(argv, io, out, err)
  } catch (e) {
    out.flush()
    if (e instanceof UsageError) err.line(`${me}: ${e.message}`)
    else if (isDerError(e)) err.line(`${me}: ${e.message}`)
    else if (e instanceof RangeError) err.line(`${me}: ${e.message}`)
    else err.line(`${me}: internal error: ${String((e as Error).message ?? e)}`)
    err.flush()
    return 1
  } finally {
    out.flush()
    err.flush()
  }
}

function crushtool(argv: readonly string[], io: CrushtoolIo, out: LineWriter, err: LineWriter): number {
  let infn: string | undefined
  let outfn: string | undefined
  let srcfn: string | undefined
  let decompile = false
  let build = false
  let numOsds: number | undefined
  let test = false
  let compareFn: string | undefined
  const positional: string[] = []
  const opts: CrushTestOptions = {}
  const deviceWeights = new Map<number, number>()
  const tunables: [keyof CrushMap['tunables'], number][] = []
  const mods: Modification[] = []
  let minX: number | undefined
  let maxX: number | undefined
  const args = [...argv]
  const takeLoc = (i: number): [[string, string][], number] => {
    const loc: [string, string][] = []
    while (args[i] === '--loc') {
      const t = args[i + 1]
      const n = args[i + 2]
      if (t === undefined || n === undefined) throw new UsageError('--loc requires a type and a name')
      loc.push([t, n])
      i += 3
    }
    return [loc, i]
  }
  for (let i = 0; i < args.length; i++) {
    let a = args[i] ?? ''
    let inline: string | undefined
    if (a.startsWith('--') && a.includes('=')) {
      inline = a.slice(a.indexOf('=') + 1)
      a = a.slice(0, a.indexOf('='))
    }
    const flag = a.startsWith('--') ? `--${a.slice(2).replace(/_/g, '-')}` : a
    const value = (): string | undefined => (inline !== undefined ? inline : args[++i])
    switch (flag) {
      case '-h':
      case '--help':
        out.line(crushtoolUsage.trimEnd())
        return 0
      case '-i':
      case '--infn':
        infn = value()
        if (infn === undefined) throw new UsageError(`option ${flag} requires an argument`)
        break
      case '-o':
      case '--outfn':
        outfn = value()
        if (outfn === undefined) throw new UsageError(`option ${flag} requires an argument`)
        break
      case '-c':
      case '--compile':
        srcfn = value()
        if (srcfn === undefined) throw new UsageError(`option ${flag} requires an argument`)
        break
      case '-d':
      case '--decompile':
        infn = value()
        if (infn === undefined) throw new UsageError(`option ${flag} requires an argument`)
        decompile = true
        break
      case '--build':
        build = true
        break
      case '--num-osds':
        numOsds = parseIntArg(flag, value())
        break
      case '--test':
        test = true
        break
      case '--compare':
        compareFn = value()
        if (compareFn === undefined) throw new UsageError(`option ${flag} requires an argument`)
        break
      case '--rule':
      case '--ruleset':
        opts.rule = parseIntArg(flag, value())
        break
      case '--num-rep':
        opts.numRep = parseIntArg(flag, value())
        if (opts.numRep > 256 || opts.numRep < 0) throw new UsageError(`--num-rep ${opts.numRep} is out of range (0..256)`)
        break
      case '--min-x':
        minX = parseIntArg(flag, value())
        break
      case '--max-x':
        maxX = parseIntArg(flag, value())
        break
      case '--x': {
        const x = parseIntArg(flag, value())
        minX = x
        maxX = x
        break
      }
      case '--pool-id':
        opts.poolId = parseIntArg(flag, value())
        break
      case '--weight': {
        const dev = parseIntArg(flag, args[++i])
        const w = parseFloatArg(flag, args[++i])
        if (dev < 0) throw new UsageError(`--weight device ${dev} is negative`)
        deviceWeights.set(dev, w)
        break
      }
      case '--show-mappings':
        opts.showMappings = true
        break
      case '--show-bad-mappings':
        opts.showBadMappings = true
        break
      case '--show-statistics':
        opts.showStatistics = true
        break
      case '--show-utilization':
        opts.showUtilization = true
        break
      case '--show-utilization-all':
        opts.showUtilizationAll = true
        break
      case '--show-choose-tries':
        opts.showChooseTries = true
        break
      case '--add-item': {
        const id = parseIntArg(flag, args[++i])
        const weight = parseFloatArg(flag, args[++i])
        const name = args[++i]
        if (name === undefined) throw new UsageError('--add-item requires id, weight and name')
        const [loc, next] = takeLoc(i + 1)
        i = next - 1
        mods.push({ kind: 'add', id, weight, name, loc })
        break
      }
      case '--remove-item': {
        const name = value()
        if (name === undefined) throw new UsageError(`option ${flag} requires an argument`)
        mods.push({ kind: 'remove', name })
        break
      }
      case '--move': {
        const name = value()
        if (name === undefined) throw new UsageError(`option ${flag} requires an argument`)
        const [loc, next] = takeLoc(i + 1)
        i = next - 1
        mods.push({ kind: 'move', name, loc })
        break
      }
      case '--reweight-item': {
        const name = args[++i]
        const weight = parseFloatArg(flag, args[++i])
        if (name === undefined) throw new UsageError('--reweight-item requires a name and a weight')
        mods.push({ kind: 'reweight-item', name, weight })
        break
      }
      case '--reweight':
        mods.push({ kind: 'reweight' })
        break
      default: {
        const key = flag.startsWith('--') ? tunableFlags[flag.slice(2)] : undefined
        if (key !== undefined) {
          const v = parseIntArg(flag, value())
          if (v < 0) throw new UsageError(`${flag} must not be negative`)
          tunables.push([key, v])
          break
        }
        if (a.startsWith('-') && a !== '-') throw new UsageError(`unrecognized argument '${a}'`)
        positional.push(a)
      }
    }
  }
  if (minX !== undefined && maxX !== undefined) {
    opts.minX = minX
    opts.maxX = maxX
  }
  if (deviceWeights.size > 0) opts.deviceWeights = deviceWeights
  if (positional.length > 0 && !build) throw new UsageError(`unrecognized arguments: [${positional.join(',')}]`)
  const modes = [infn !== undefined, srcfn !== undefined, build].filter(Boolean).length
  if (modes === 0) throw new UsageError('no action specified; try -h for help')
  if (modes > 1) throw new UsageError('give only one of -i/-d, -c and --build')

  let map: CrushMap
  let modified = false
  if (infn !== undefined) {
    map = loadMap(io, infn)
  } else if (srcfn !== undefined) {
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(io.readFile(io.resolvePath(srcfn)))
    } catch (e) {
      const code = (e as { code?: string }).code
      throw new UsageError(code === 'ENOENT' ? `input file ${srcfn} not found` : `error reading '${srcfn}'`)
    }
    try {
      map = parseCrushText(text, srcfn)
    } catch (e) {
      if (isDerError(e)) throw new UsageError(`${e.message}\n${me}: errors while compiling ${srcfn}`)
      throw e
    }
    modified = true
  } else {
    if (numOsds === undefined) throw new UsageError('must specify --num_osds with --build')
    if (positional.length === 0 || positional.length % 3 !== 0) {
      err.line(`remaining args: [${positional.join(',')}]`)
      throw new UsageError('layers must be specified with 3-tuples of (name, buckettype, size)')
    }
    const layers: BuildLayer[] = []
    for (let k = 0; k < positional.length; k += 3) {
      layers.push({ name: positional[k] ?? '', alg: positional[k + 1] ?? '', size: parseIntArg('layer size', positional[k + 2]) })
    }
    const built = buildMap(numOsds, layers)
    for (const w of built.warnings) err.line(w)
    map = built.map
    modified = true
  }

  for (const [key, v] of tunables) {
    map.tunables[key] = v
    modified = true
  }
  for (const m of mods) {
    applyModification(map, m)
    modified = true
  }

  if (decompile) {
    const text = printCrushText(map)
    if (outfn !== undefined) io.writeFile(io.resolvePath(outfn), text)
    else {
      for (const l of text.slice(0, -1).split('\n')) out.line(l)
    }
  } else if (modified) {
    if (outfn === undefined) out.line(`${me} successfully built or modified map.  Use '-o <file>' to write it out.`)
    else io.writeFile(io.resolvePath(outfn), encodeCrushMap(map))
  }

  let status = 0
  if (test) {
    if (opts.showUtilization !== true && opts.showUtilizationAll !== true && opts.showStatistics !== true && opts.showBadMappings !== true && opts.showMappings !== true && opts.showChooseTries !== true) {
      err.line('WARNING: no output selected; use --output-csv or --show-X')
    }
    runCrushTest(map, opts, { out: (l) => out.line(l), err: (l) => err.line(l) })
  }
  if (compareFn !== undefined) {
    const other = loadMap(io, compareFn)
    if (!compareCrushMaps(map, other, opts, { out: (l) => out.line(l), err: (l) => err.line(l) })) status = 1
  }
  return status
}

function bucketFromLoc(map: CrushMap, loc: [string, string][]): string {
  if (loc.length === 0) throw new UsageError('a --loc type name is required')
  let best: { name: string; type: number } | undefined
  for (const [typeName, name] of loc) {
    let type: number | undefined
    for (const [t, n] of map.typeNames) if (n === typeName) type = t
    if (type === undefined) throw new UsageError(`type '${typeName}' is not defined`)
    const id = itemIdByName(map, name)
    if (id === undefined || id >= 0) continue
    if (best === undefined || type < best.type) best = { name, type }
  }
  if (best === undefined) throw new UsageError(`no bucket of --loc ${loc.map(([t, n]) => `${t}=${n}`).join(' ')} exists`)
  return best.name
}

function applyModification(map: CrushMap, m: Modification): void {
  switch (m.kind) {
    case 'add':
      if (m.loc.length === 0) throw new UsageError('--add-item needs at least one --loc type name')
      insertDevice(map, m.id, parseWeight(String(m.weight)), m.name, new Map(m.loc))
      break
    case 'remove': {
      const id = itemIdByName(map, m.name)
      if (id === undefined) throw new UsageError(`item '${m.name}' does not exist`)
      removeItem(map, id)
      break
    }
    case 'move': {
      const id = itemIdByName(map, m.name)
      if (id === undefined || id >= 0) throw new UsageError(`bucket '${m.name}' does not exist`)
      moveBucket(map, id, bucketFromLoc(map, m.loc))
      break
    }
    case 'reweight-item': {
      const id = itemIdByName(map, m.name)
      if (id === undefined) throw new UsageError(`item '${m.name}' does not exist`)
      reweightItem(map, id, parseWeight(String(m.weight)))
      break
    }
    case 'reweight':
      recomputeWeights(map)
      break
  }
}
