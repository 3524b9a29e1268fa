// Arrival times keyed by what arrived (a transaction hash, a record id), for the latency
// benchmarks: whichever of observe() and wait() comes first, wait() settles with the arrival time.

export interface Arrivals {
  observe(key: string, at: number): void
  /** The arrival time of `key`; rejects after `timeoutMs` naming `what` did not arrive. */
  wait(key: string): Promise<number>
}

export function createArrivals(what: string, timeoutMs: number): Arrivals {
  const seen = new Map<string, number>()
  const waiting = new Map<string, (at: number) => void>()
  return {
    observe(key, at) {
      const resolve = waiting.get(key)
      if (resolve === undefined) seen.set(key, at)
      else resolve(at)
    },
    wait(key) {
      const at = seen.get(key)
      if (at !== undefined) return Promise.resolve(at)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} for ${key} within ${timeoutMs} ms`)), timeoutMs)
        waiting.set(key, (arrived) => {
          clearTimeout(timer)
          waiting.delete(key)
          resolve(arrived)
        })
      })
    },
  }
}
