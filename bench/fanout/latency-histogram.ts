// Latencies in fixed 20 µs buckets up to 2 s (the last bucket holds everything slower): recording is
// an array increment, and the histograms of several processes merge by addition.

export const BUCKET_MICROS = 20
export const BUCKETS = 100_000

export function createHistogram(): Uint32Array {
  return new Uint32Array(BUCKETS)
}

export function record(histogram: Uint32Array, micros: number): void {
  const bucket = Math.min(BUCKETS - 1, Math.max(0, Math.floor(micros / BUCKET_MICROS)))
  histogram[bucket] = (histogram[bucket] ?? 0) + 1
}

export function merge(histograms: readonly Uint32Array[]): Uint32Array {
  const total = createHistogram()
  for (const h of histograms) for (let i = 0; i < BUCKETS; i++) total[i] = (total[i] ?? 0) + (h[i] ?? 0)
  return total
}

/** The latency in milliseconds below which `q` of the samples fall (upper edge of the bucket); NaN when empty. */
export function quantileMs(histogram: Uint32Array, q: number): number {
  let count = 0
  for (const n of histogram) count += n
  if (count === 0) return Number.NaN
  const rank = Math.ceil(q * count)
  let seen = 0
  for (let i = 0; i < BUCKETS; i++) {
    seen += histogram[i] ?? 0
    if (seen >= rank) return ((i + 1) * BUCKET_MICROS) / 1000
  }
  return (BUCKETS * BUCKET_MICROS) / 1000
}
