// The trading simulator's timers: each loop schedules its next run only after the previous run has
// settled, so a slow node delays a loop instead of piling up runs, and stop() can wait for the runs
// in flight instead of cutting a transaction off halfway.
import type { Logger } from '../../indexer/runtime/logger.ts'

export interface Loops {
  /** Runs body after delayMs(), again and again until stop(); a failed run is logged, not fatal. */
  every(name: string, delayMs: () => number, body: () => Promise<void>): void
  /** Cancels every scheduled run and resolves once the runs in flight have settled. */
  stop(): Promise<void>
}

export function createLoops(logger: Logger): Loops {
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  let stopped = false
  return {
    every(name, delayMs, body) {
      const schedule = (): void => {
        if (stopped) return
        const timer = setTimeout(() => {
          timers.delete(timer)
          const runOnce: Promise<void> = body()
            .catch((error: unknown) => logger.warn(`${name} failed`, { error }))
            .finally(() => {
              inFlight.delete(runOnce)
              schedule()
            })
          inFlight.add(runOnce)
        }, delayMs())
        timers.add(timer)
      }
      schedule()
    },
    async stop() {
      stopped = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      await Promise.all(inFlight)
    },
  }
}
