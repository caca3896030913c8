/**
 * `finalize`: max_devices from the buckets' items and the device names, as Ceph computes it.
 *
 * @module
 */
import type { CrushMap } from './model.ts'

/** Recomputes `maxDevices` (1 + the largest device id in a bucket or with a name). */
export function finalizeMap(map: CrushMap): void {
  let max = 0
  for (const b of map.buckets) {
    if (b === undefined) continue
    for (const it of b.items) if (it >= max) max = it + 1
  }
  for (const id of map.names.keys()) if (id >= max) max = id + 1
  map.maxDevices = max
}
