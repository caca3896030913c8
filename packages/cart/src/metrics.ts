/**
 * CaRT metrics through the `@x/common` facade, labelled by context tag and opcode.
 *
 * @module
 */
import { type Counter, type Gauge, type Histogram, type MetricsRegistry, exponentialBuckets } from '@x/common'

/** The metrics one CaRT instance updates. */
export class CartMetrics {
  /** RPCs sent, by context and opcode. */
  readonly sent: Counter
  /** Requests received, by context and opcode. */
  readonly received: Counter
  /** RPCs completed by a timeout. */
  readonly timedOut: Counter
  /** RPCs completed by cancellation. */
  readonly canceled: Counter
  /** RPCs completed with any other error (transport or remote). */
  readonly failed: Counter
  /** Replies that arrived after their RPC had completed (timeout, cancel, duplicate). */
  readonly lateReplies: Counter
  /** Incoming messages dropped because they could not be decoded. */
  readonly malformed: Counter
  /** Round-trip latency of successful RPCs. */
  readonly latencyMs: Histogram
  /** RPCs in flight. */
  readonly inflight: Gauge
  /** Bytes moved by bulk transfers. */
  readonly bulkBytes: Counter

  constructor(registry: MetricsRegistry) {
    const labelNames = ['context', 'opcode']
    this.sent = registry.counter({ name: 'cart_rpc_sent_total', help: 'RPCs sent', labelNames })
    this.received = registry.counter({ name: 'cart_rpc_received_total', help: 'RPC requests received', labelNames })
    this.timedOut = registry.counter({ name: 'cart_rpc_timed_out_total', help: 'RPCs completed with DER_TIMEDOUT', labelNames })
    this.canceled = registry.counter({ name: 'cart_rpc_canceled_total', help: 'RPCs completed with DER_CANCELED', labelNames })
    this.failed = registry.counter({ name: 'cart_rpc_failed_total', help: 'RPCs completed with another error', labelNames })
    this.lateReplies = registry.counter({ name: 'cart_rpc_late_replies_total', help: 'replies for RPCs already completed', labelNames: ['context'] })
    this.malformed = registry.counter({ name: 'cart_malformed_messages_total', help: 'incoming messages that could not be decoded', labelNames: ['context'] })
    this.latencyMs = registry.histogram({ name: 'cart_rpc_latency_ms', help: 'round trip of successful RPCs', labelNames, buckets: exponentialBuckets(0.05, 2, 20) })
    this.inflight = registry.gauge({ name: 'cart_rpc_inflight', help: 'RPCs in flight', labelNames: ['context'] })
    this.bulkBytes = registry.counter({ name: 'cart_bulk_bytes_total', help: 'bytes moved by bulk transfers', labelNames: ['context', 'op'] })
  }
}

/** The opcode label: 8 hex digits. */
export function opcodeLabel(opcode: number): string {
  return `0x${opcode.toString(16).padStart(8, '0')}`
}
