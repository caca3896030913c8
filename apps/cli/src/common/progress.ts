/**
 * Progress bars for long operations (`storage format`, `pool create`, rebuild waits), drawn with
 * `cli-progress` on stderr only when it is a terminal and JSON output is off, so scripts and
 * pipes see clean output.
 *
 * @module
 */
import { SingleBar } from 'cli-progress'

/** Where a bar draws and whether it should. */
export interface ProgressSink {
  /** Writes raw text (terminal control sequences redraw the line). */
  readonly write: (text: string) => void
  /** Whether the output is a terminal (no bar otherwise). */
  readonly isTTY: boolean
  /** Terminal width in columns (default 80). */
  readonly columns?: number
}

/** A progress bar: `update(fraction, note)`, then `done()`. */
export interface ProgressBar {
  update(fraction: number, note?: string): void
  done(note?: string): void
}

/** Width of the bar in cells. */
export const progressBarWidth = 30

/** Steps of a bar: fractions are drawn in thousandths. */
const steps = 1000

const silent: ProgressBar = { update: () => {}, done: () => {} }

/**
 * `sink` as the stream `cli-progress` writes to: `write` plus `isTTY` and `columns` (its
 * terminal control goes through `node:readline`, which only calls `write`).
 */
export function progressStream(sink: ProgressSink): NodeJS.WritableStream {
  const stream = {
    isTTY: sink.isTTY,
    columns: sink.columns ?? 80,
    write: (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      sink.write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined
      callback?.()
      return true
    },
  }
  return stream as unknown as NodeJS.WritableStream
}

function clamp(fraction: number): number {
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0
}

/**
 * A bar drawing `label [#####-----] 50% note` on `sink` (a no-op bar when `sink` is undefined,
 * not a TTY, or `enabled` is false).
 */
export function startProgress(sink: ProgressSink | undefined, label: string, enabled = true): ProgressBar {
  if (sink === undefined || !sink.isTTY || !enabled) return silent
  const bar = new SingleBar({
    stream: progressStream(sink),
    format: '{label} [{bar}] {percentage}%{note}',
    barsize: progressBarWidth,
    barCompleteChar: '#',
    barIncompleteChar: '-',
    hideCursor: false,
    gracefulExit: false,
    linewrap: null,
  })
  const note = (text: string | undefined): { label: string; note: string } => ({ label, note: text === undefined || text === '' ? '' : ` ${text}` })
  bar.start(steps, 0, note(undefined))
  return {
    update: (fraction, text) => bar.update(Math.round(clamp(fraction) * steps), note(text)),
    done: (text) => {
      bar.update(steps, note(text))
      bar.stop()
    },
  }
}
