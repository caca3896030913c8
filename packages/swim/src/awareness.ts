/**
 * Lifeguard's local health awareness: a bounded score that scales this node's own timeouts.
 *
 * @module
 */

/**
 * A node's health score in `[0, maxMultiplier - 1]`; 0 is healthy. Missed nacks and refutations
 * raise it, successful probes lower it, and {@link Awareness.scale} multiplies a timeout by
 * `score + 1`.
 */
export class Awareness {
  private currentScore = 0
  private readonly maxMultiplier: number
  private readonly enabled: boolean

  constructor(maxMultiplier: number, enabled: boolean) {
    this.maxMultiplier = maxMultiplier
    this.enabled = enabled
  }

  /** The current score (always 0 when awareness is disabled). */
  get score(): number {
    return this.currentScore
  }

  /** Adds `delta` to the score, clamped to `[0, maxMultiplier - 1]`. */
  applyDelta(delta: number): void {
    if (!this.enabled) return
    this.currentScore = Math.min(this.maxMultiplier - 1, Math.max(0, this.currentScore + delta))
  }

  /** `timeoutMs * (score + 1)`. */
  scale(timeoutMs: number): number {
    return timeoutMs * (this.currentScore + 1)
  }
}
