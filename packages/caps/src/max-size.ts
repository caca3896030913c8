/**
 * max_size arithmetic: how far a writer may write without asking (Ceph's `calc_new_max_size`)
 * and when a client reports its size early.
 *
 * @module
 */

/** Layout figures that bound max_size growth. */
export interface MaxSizePolicy {
  /** Stripe period the range is rounded up to (Ceph: the layout period), in bytes. */
  readonly layoutPeriodBytes: number
  /** Object size in bytes. */
  readonly objectSizeBytes: number
  /** Largest growth in objects (Ceph's `mds_client_writeable_range_max_inc_objs`, 1024). */
  readonly maxIncrementObjects: number
}

/** Ceph's defaults: 4 MiB objects and period, at most 1024 objects per increase. */
export const defaultMaxSizePolicy: MaxSizePolicy = { layoutPeriodBytes: 4 << 20, objectSizeBytes: 4 << 20, maxIncrementObjects: 1024 }

/**
 * `calc_new_max_size(size)`: `round_up((size + 1) * 2, period)`, capped at
 * `size + maxIncrementObjects * objectSize`. Size 10 MiB with a 4 MiB period gives 24 MiB.
 */
export function calcNewMaxSize(sizeBytes: number, policy: MaxSizePolicy = defaultMaxSizePolicy): number {
  const period = policy.layoutPeriodBytes
  let next = Math.ceil(((sizeBytes + 1) * 2) / period) * period
  const cap = sizeBytes + policy.maxIncrementObjects * policy.objectSizeBytes
  if (next > cap) next = cap
  return next
}

/** `__ceph_should_report_size`: report when `size >= maxSize` or half the last increment is used. */
export function shouldReportSize(sizeBytes: number, maxSizeBytes: number, reportedSizeBytes: number): boolean {
  if (sizeBytes <= reportedSizeBytes) return false
  return sizeBytes >= maxSizeBytes || 2 * sizeBytes >= maxSizeBytes + reportedSizeBytes
}
