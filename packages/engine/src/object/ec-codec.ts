/**
 * Erasure coding of one stripe: k data cells and P parity cells, Reed-Solomon over GF(2^8).
 *
 * The field is GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d) and generator 2, the
 * field Intel ISA-L (and so DAOS) computes in. The generator matrix is systematic: its top k rows
 * are the identity (data cells are stored as they are) and its P parity rows are
 *
 * - for P = 1, all ones: the parity is the XOR of the data cells (the fast path DAOS and Ceph take
 *   for single parity; ISA-L's Vandermonde matrix has the same first parity row);
 * - for P >= 2, ISA-L's Cauchy rows (`gf_gen_cauchy1_matrix`): row i (k <= i < k + P), column j is
 *   1 / (i XOR j). Every k x k sub-matrix of a Cauchy-extended identity is invertible, so any P
 *   erasures can be reconstructed for every k + P <= 256.
 *
 * Everything here is pure: no I/O, no state but lazily built constant tables. Cells are bytes
 * (`Uint8Array`); coding is byte-wise, so any byte range of a stripe (the same range of every
 * cell) can be encoded or reconstructed on its own.
 *
 * @module
 */
import { DerError, assert } from '@x/common'

/** The reduction polynomial of GF(2^8) (x^8 + x^4 + x^3 + x^2 + 1), as in ISA-L. */
export const gfPolynomial = 0x11d

const gfExp = new Uint8Array(512)
const gfLog = new Uint8Array(256)
{
  let x = 1
  for (let i = 0; i < 255; i++) {
    gfExp[i] = x
    gfLog[x] = i
    x <<= 1
    if (x & 0x100) x ^= gfPolynomial
  }
  for (let i = 255; i < 512; i++) gfExp[i] = gfExp[i - 255] ?? 0
}

/** Multiplies two elements of GF(2^8). */
export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0
  return gfExp[(gfLog[a] ?? 0) + (gfLog[b] ?? 0)] ?? 0
}

/** The multiplicative inverse of a non-zero element of GF(2^8). */
export function gfInv(a: number): number {
  assert(a > 0 && a < 256, `gfInv of ${a}`)
  return gfExp[255 - (gfLog[a] ?? 0)] ?? 0
}

/** Full 256 x 256 product table, built on first use (64 KiB): `mulTable[c * 256 + x] = c * x`. */
let mulTable: Uint8Array | undefined
function productTable(): Uint8Array {
  if (mulTable === undefined) {
    const table = new Uint8Array(65536)
    for (let c = 1; c < 256; c++) for (let x = 1; x < 256; x++) table[c * 256 + x] = gfMul(c, x)
    mulTable = table
  }
  return mulTable
}

/** The largest k + P the codec accepts (the Cauchy construction needs distinct row and column indices below 256). */
export const maxEcCells = 256

/** XORs `source` into `target` (same length); word-wise when both are 4-byte aligned. */
function xorInto(target: Uint8Array, source: Uint8Array): void {
  const length = target.length
  let done = 0
  if ((target.byteOffset & 3) === 0 && (source.byteOffset & 3) === 0 && length >= 16) {
    const words = length >>> 2
    const t32 = new Uint32Array(target.buffer, target.byteOffset, words)
    const s32 = new Uint32Array(source.buffer, source.byteOffset, words)
    for (let i = 0; i < words; i++) t32[i] = (t32[i] ?? 0) ^ (s32[i] ?? 0)
    done = words << 2
  }
  for (let i = done; i < length; i++) target[i] = (target[i] ?? 0) ^ (source[i] ?? 0)
}

/** Adds `coefficient * source` into `target` over GF(2^8). */
function mulAddInto(target: Uint8Array, source: Uint8Array, coefficient: number): void {
  if (coefficient === 0) return
  if (coefficient === 1) {
    xorInto(target, source)
    return
  }
  const row = productTable().subarray(coefficient * 256, coefficient * 256 + 256)
  const length = target.length
  let done = 0
  if ((target.byteOffset & 3) === 0 && (source.byteOffset & 3) === 0 && length >= 16) {
    // Four bytes per step: one 32-bit load and store, four table lookups.
    const words = length >>> 2
    const t32 = new Uint32Array(target.buffer, target.byteOffset, words)
    const s32 = new Uint32Array(source.buffer, source.byteOffset, words)
    for (let i = 0; i < words; i++) {
      const x = s32[i] as number
      const product = (row[x & 255] as number) | ((row[(x >>> 8) & 255] as number) << 8) | ((row[(x >>> 16) & 255] as number) << 16) | ((row[x >>> 24] as number) << 24)
      t32[i] = (t32[i] as number) ^ product
    }
    done = words << 2
  }
  for (let i = done; i < length; i++) target[i] = (target[i] as number) ^ (row[source[i] as number] as number)
}

/** Inverts a square matrix over GF(2^8) (row-major, `n * n` bytes) by Gauss-Jordan elimination; `undefined` if singular. */
export function gfInvertMatrix(matrix: Uint8Array, n: number): Uint8Array | undefined {
  assert(matrix.length === n * n, 'gfInvertMatrix: matrix is not n x n')
  const work = Uint8Array.from(matrix)
  const inverse = new Uint8Array(n * n)
  for (let i = 0; i < n; i++) inverse[i * n + i] = 1
  for (let col = 0; col < n; col++) {
    let pivot = col
    while (pivot < n && work[pivot * n + col] === 0) pivot++
    if (pivot === n) return undefined
    if (pivot !== col) {
      for (let j = 0; j < n; j++) {
        const a = work[col * n + j] ?? 0
        work[col * n + j] = work[pivot * n + j] ?? 0
        work[pivot * n + j] = a
        const b = inverse[col * n + j] ?? 0
        inverse[col * n + j] = inverse[pivot * n + j] ?? 0
        inverse[pivot * n + j] = b
      }
    }
    const scale = gfInv(work[col * n + col] ?? 0)
    for (let j = 0; j < n; j++) {
      work[col * n + j] = gfMul(work[col * n + j] ?? 0, scale)
      inverse[col * n + j] = gfMul(inverse[col * n + j] ?? 0, scale)
    }
    for (let row = 0; row < n; row++) {
      if (row === col) continue
      const factor = work[row * n + col] ?? 0
      if (factor === 0) continue
      for (let j = 0; j < n; j++) {
        work[row * n + j] = (work[row * n + j] ?? 0) ^ gfMul(factor, work[col * n + j] ?? 0)
        inverse[row * n + j] = (inverse[row * n + j] ?? 0) ^ gfMul(factor, inverse[col * n + j] ?? 0)
      }
    }
  }
  return inverse
}

/**
 * The systematic generator matrix for k data and P parity cells: `(k + P) x k` bytes, row-major.
 * Top k rows identity; parity rows all ones for P = 1, ISA-L's Cauchy rows `1 / (i ^ j)` for P >= 2.
 */
export function ecGeneratorMatrix(dataCells: number, parityCells: number): Uint8Array {
  checkLayout(dataCells, parityCells)
  const k = dataCells
  const total = k + parityCells
  const matrix = new Uint8Array(total * k)
  for (let i = 0; i < k; i++) matrix[i * k + i] = 1
  for (let i = k; i < total; i++) {
    for (let j = 0; j < k; j++) matrix[i * k + j] = parityCells === 1 ? 1 : gfInv(i ^ j)
  }
  return matrix
}

function checkLayout(dataCells: number, parityCells: number): void {
  if (!Number.isInteger(dataCells) || dataCells < 1) throw new DerError('DER_INVAL', `EC data cell count must be a positive integer, got ${dataCells}`)
  if (!Number.isInteger(parityCells) || parityCells < 1) throw new DerError('DER_INVAL', `EC parity cell count must be a positive integer, got ${parityCells}`)
  if (dataCells + parityCells > maxEcCells) throw new DerError('DER_INVAL', `EC k + P must be at most ${maxEcCells}, got ${dataCells} + ${parityCells}`)
}

/**
 * A Reed-Solomon codec for one (k, P) layout. Instances are immutable and cached ({@link ErasureCodec.of}).
 *
 * @example
 * ```ts
 * const codec = ErasureCodec.of(4, 2)
 * const data = [0, 1, 2, 3].map((i) => new Uint8Array(8).fill(i + 1))
 * const parity = codec.encode(data)
 * const cells = [...data, ...parity].map((cell, i) => (i === 1 || i === 4 ? undefined : cell))
 * const all = codec.reconstruct(cells) // all[1] equals data[1] again
 * ```
 */
export class ErasureCodec {
  private static readonly cache = new Map<string, ErasureCodec>()

  /** The generator matrix, `(k + P) x k` row-major (see {@link ecGeneratorMatrix}). */
  readonly matrix: Uint8Array
  private readonly decodeCache = new Map<string, Uint8Array>()

  /** Builds a codec for `dataCells` data and `parityCells` parity cells (`DER_INVAL` on a bad layout). */
  constructor(
    /** k: data cells per stripe. */
    readonly dataCells: number,
    /** P: parity cells per stripe (the erasures it survives). */
    readonly parityCells: number,
  ) {
    this.matrix = ecGeneratorMatrix(dataCells, parityCells)
  }

  /** The shared codec for a layout. */
  static of(dataCells: number, parityCells: number): ErasureCodec {
    const key = `${dataCells}+${parityCells}`
    let codec = ErasureCodec.cache.get(key)
    if (codec === undefined) {
      codec = new ErasureCodec(dataCells, parityCells)
      ErasureCodec.cache.set(key, codec)
    }
    return codec
  }

  /** k + P. */
  get totalCells(): number {
    return this.dataCells + this.parityCells
  }

  /** Computes the P parity cells of k equal-length data cells (new buffers). */
  encode(data: readonly Uint8Array[]): Uint8Array[] {
    const length = this.checkCells(data, this.dataCells, 'data')
    const parity = Array.from({ length: this.parityCells }, () => new Uint8Array(length))
    this.encodeInto(data, parity)
    return parity
  }

  /** Computes parity into caller-provided cells (overwritten). All cells share one length. */
  encodeInto(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void {
    const length = this.checkCells(data, this.dataCells, 'data')
    if (parity.length !== this.parityCells || parity.some((cell) => cell.length !== length)) {
      throw new DerError('DER_INVAL', `EC encode needs ${this.parityCells} parity cells of ${length} bytes`)
    }
    const k = this.dataCells
    for (let p = 0; p < this.parityCells; p++) {
      const out = parity[p]
      assert(out !== undefined)
      out.fill(0)
      for (let j = 0; j < k; j++) {
        const cell = data[j]
        assert(cell !== undefined)
        mulAddInto(out, cell, this.matrix[(k + p) * k + j] ?? 0)
      }
    }
  }

  /**
   * Reconstructs missing cells. `cells` holds the k + P cells in order (data then parity), with
   * `undefined` for each lost one; at most P may be missing and the present ones share a length.
   * Returns all k + P cells: the present ones as given, the missing ones rebuilt (new buffers).
   * Too many erasures: `DER_DATA_LOSS`; malformed input: `DER_INVAL`.
   */
  reconstruct(cells: readonly (Uint8Array | undefined)[]): Uint8Array[] {
    const k = this.dataCells
    const total = this.totalCells
    if (cells.length !== total) throw new DerError('DER_INVAL', `EC reconstruct needs ${total} cell slots, got ${cells.length}`)
    const present: number[] = []
    const missing: number[] = []
    let length = -1
    for (let i = 0; i < total; i++) {
      const cell = cells[i]
      if (cell === undefined) {
        missing.push(i)
        continue
      }
      if (length === -1) length = cell.length
      else if (cell.length !== length) throw new DerError('DER_INVAL', `EC cells differ in length: ${cell.length} vs ${length}`)
      present.push(i)
    }
    if (missing.length > this.parityCells) {
      throw new DerError('DER_DATA_LOSS', `EC ${k}+${this.parityCells}: ${missing.length} cells lost (${missing.join(', ')}), at most ${this.parityCells} can be rebuilt`)
    }
    const result = cells.slice()
    if (missing.length === 0) return result as Uint8Array[]
    const missingData = missing.filter((i) => i < k)
    if (missingData.length > 0) {
      if (this.parityCells === 1) {
        // XOR fast path: the one lost data cell is the XOR of every other cell.
        const lost = missingData[0]
        assert(lost !== undefined)
        const out = new Uint8Array(length)
        for (const i of present) xorInto(out, cells[i] as Uint8Array)
        result[lost] = out
      } else {
        const sources = present.slice(0, k)
        const decode = this.decodeMatrix(sources)
        for (const lost of missingData) {
          const out = new Uint8Array(length)
          for (let s = 0; s < k; s++) mulAddInto(out, cells[sources[s] as number] as Uint8Array, decode[lost * k + s] ?? 0)
          result[lost] = out
        }
      }
    }
    const missingParity = missing.filter((i) => i >= k)
    if (missingParity.length > 0) {
      const data = result.slice(0, k) as Uint8Array[]
      for (const lost of missingParity) {
        const out = new Uint8Array(length)
        for (let j = 0; j < k; j++) mulAddInto(out, data[j] as Uint8Array, this.matrix[lost * k + j] ?? 0)
        result[lost] = out
      }
    }
    return result as Uint8Array[]
  }

  /** The inverse of the generator rows `sources` (k of them): multiplying the source cells by it yields the data cells. */
  private decodeMatrix(sources: readonly number[]): Uint8Array {
    const key = sources.join(',')
    const cached = this.decodeCache.get(key)
    if (cached !== undefined) return cached
    const k = this.dataCells
    const sub = new Uint8Array(k * k)
    sources.forEach((row, r) => sub.set(this.matrix.subarray(row * k, row * k + k), r * k))
    const inverse = gfInvertMatrix(sub, k)
    assert(inverse !== undefined, `EC ${k}+${this.parityCells}: rows ${key} not invertible`)
    if (this.decodeCache.size < 1024) this.decodeCache.set(key, inverse)
    return inverse
  }

  private checkCells(cells: readonly Uint8Array[], expected: number, what: string): number {
    if (cells.length !== expected) throw new DerError('DER_INVAL', `EC ${this.dataCells}+${this.parityCells} needs ${expected} ${what} cells, got ${cells.length}`)
    const length = cells[0]?.length ?? 0
    for (const cell of cells) {
      if (cell.length !== length) throw new DerError('DER_INVAL', `EC ${what} cells differ in length: ${cell.length} vs ${length}`)
    }
    return length
  }
}

/** Computes the P parity cells of k data cells (see {@link ErasureCodec.encode}). */
export function ecEncode(dataCells: readonly Uint8Array[], parityCells: number): Uint8Array[] {
  return ErasureCodec.of(dataCells.length, parityCells).encode(dataCells)
}

/** Rebuilds the missing (`undefined`) cells among k data + P parity cells (see {@link ErasureCodec.reconstruct}). */
export function ecReconstruct(cells: readonly (Uint8Array | undefined)[], dataCells: number, parityCells: number): Uint8Array[] {
  return ErasureCodec.of(dataCells, parityCells).reconstruct(cells)
}

/**
 * Splits one stripe into k cells of `cellSizeBytes` (views into `stripe` where it is long enough,
 * zero-filled copies for a short tail: a short stripe is zero-padded, as an unwritten extent reads).
 */
export function splitStripe(stripe: Uint8Array, dataCells: number, cellSizeBytes: number): Uint8Array[] {
  if (!Number.isInteger(cellSizeBytes) || cellSizeBytes < 1) throw new DerError('DER_INVAL', `EC cell size must be a positive integer, got ${cellSizeBytes}`)
  if (stripe.length > dataCells * cellSizeBytes) throw new DerError('DER_INVAL', `stripe of ${stripe.length} bytes exceeds ${dataCells} cells of ${cellSizeBytes}`)
  const cells: Uint8Array[] = []
  for (let i = 0; i < dataCells; i++) {
    const start = i * cellSizeBytes
    const end = start + cellSizeBytes
    if (end <= stripe.length) cells.push(stripe.subarray(start, end))
    else {
      const cell = new Uint8Array(cellSizeBytes)
      if (start < stripe.length) cell.set(stripe.subarray(start))
      cells.push(cell)
    }
  }
  return cells
}
