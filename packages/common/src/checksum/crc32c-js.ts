/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) in portable JavaScript, slicing-by-8.
 *
 * @module
 */

const polynomial = 0x82f63b78

/**
 * Eight 256-entry tables: table k gives the CRC of a byte followed by k zero bytes. Signed
 * 32-bit entries keep every intermediate a small integer for the JIT (measured: 1.6x faster).
 */
const tables: Int32Array[] = (() => {
  const result = Array.from({ length: 8 }, () => new Int32Array(256))
  const first = result[0] as Int32Array
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1
    first[n] = c
  }
  for (let n = 0; n < 256; n++) {
    let c = first[n] as number
    for (let k = 1; k < 8; k++) {
      c = (first[c & 0xff] as number) ^ (c >>> 8)
      ;(result[k] as Int32Array)[n] = c
    }
  }
  return result
})()

const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array]

/**
 * The CRC-32C of `data`, continuing from `previous` (the CRC of the bytes before it), so that
 * `crc32cJs(b, crc32cJs(a))` equals the CRC of `a` followed by `b`.
 */
export function crc32cJs(data: Uint8Array, previous = 0): number {
  let crc = ~previous
  let i = 0
  const length = data.length
  const end8 = length - (length % 8)
  while (i < end8) {
    const lo = crc ^ ((data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24))
    crc =
      (t7[lo & 0xff] as number) ^
      (t6[(lo >>> 8) & 0xff] as number) ^
      (t5[(lo >>> 16) & 0xff] as number) ^
      (t4[(lo >>> 24) & 0xff] as number) ^
      (t3[data[i + 4] as number] as number) ^
      (t2[data[i + 5] as number] as number) ^
      (t1[data[i + 6] as number] as number) ^
      (t0[data[i + 7] as number] as number)
    i += 8
  }
  while (i < length) {
    crc = (t0[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8)
    i++
  }
  return ~crc >>> 0
}
