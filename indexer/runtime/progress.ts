// Progress of long work (backfill, replay): a redrawn bar with rate and ETA on a terminal, and a
// plain structured log line every few seconds otherwise (CI, files, pipes).
import type { Logger } from './logger.ts'

export interface Progress {
  /** `done` is absolute, in `unit`s; `total` may grow (a chain head moves while we backfill). */
  update(done: number, total?: number): void
  finish(): void
}

export interface ProgressOptions {
  readonly label: string
  readonly unit: string
  readonly total: number
  readonly logger: Logger
  readonly stream?: NodeJS.WriteStream
  readonly logEveryMs?: number
  readonly now?: () => number
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr
  const now = options.now ?? (() => performance.now())
  const tty = stream.isTTY === true
  const interval = tty ? 100 : (options.logEveryMs ?? 5_000)
  const startedAt = now()
  let total = options.total
  let done = 0
  let lastDrawAt = -Infinity
  let finished = false

  const draw = (final: boolean): void => {
    const elapsedS = Math.max((now() - startedAt) / 1000, 1e-9)
    const rate = done / elapsedS
    const remaining = Math.max(total - done, 0)
    const eta = rate > 0 ? remaining / rate : Number.POSITIVE_INFINITY
    if (tty) {
      const line = renderBar({ label: options.label, unit: options.unit, done, total, rate, eta })
      stream.write(`\r${line}\u001b[K${final ? '\n' : ''}`)
    } else {
      options.logger.info(final ? `${options.label} finished` : options.label, {
        done,
        total,
        percent: total > 0 ? Math.floor((done / total) * 1000) / 10 : 100,
        [`${options.unit}_per_s`]: Math.round(rate),
        eta_s: Number.isFinite(eta) ? Math.round(eta) : null,
      })
    }
  }

  return {
    update(value, newTotal) {
      done = value
      if (newTotal !== undefined) total = newTotal
      const t = now()
      if (t - lastDrawAt >= interval) {
        lastDrawAt = t
        draw(false)
      }
    },
    finish() {
      if (finished) return
      finished = true
      draw(true)
    },
  }
}

export interface BarState {
  readonly label: string
  readonly unit: string
  readonly done: number
  readonly total: number
  readonly rate: number
  readonly eta: number
}

export function renderBar(state: BarState, width = 30): string {
  const ratio = state.total > 0 ? Math.min(state.done / state.total, 1) : 1
  const filled = Math.round(ratio * width)
  const bar = `${'='.repeat(Math.max(filled - 1, 0))}${filled > 0 ? (filled === width ? '=' : '>') : ''}${' '.repeat(width - filled)}`
  const pct = `${(ratio * 100).toFixed(1).padStart(5)}%`
  const eta = Number.isFinite(state.eta) ? formatDuration(state.eta) : '--'
  return `${state.label} [${bar}] ${pct} ${state.done.toLocaleString('en-US')}/${state.total.toLocaleString('en-US')} ${state.unit} ${formatRate(state.rate)} ${state.unit}/s ETA ${eta}`
}

function formatRate(rate: number): string {
  if (rate >= 1_000_000) return `${(rate / 1_000_000).toFixed(2)}M`
  if (rate >= 1_000) return `${(rate / 1_000).toFixed(1)}k`
  return rate.toFixed(0)
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
