// Percentiles of latency samples (milliseconds) as the rows of a Markdown table.

export interface LatencyRow {
  readonly label: string
  readonly samples: readonly number[]
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN
}

export function latencyTable(rows: readonly LatencyRow[]): string[] {
  const width = Math.max(2, ...rows.map((r) => r.label.length))
  const columns = ['p50', 'p95', 'p99', 'max', 'mean']
  const lines = [
    `| ${'ms'.padEnd(width)} | ${columns.map((c) => c.padStart(8)).join(' | ')} |`,
    `|${'-'.repeat(width + 2)}|${columns.map(() => '-'.repeat(10)).join('|')}|`,
  ]
  for (const { label, samples } of rows) {
    const sorted = [...samples].sort((a, b) => a - b)
    const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length)
    const cells = [percentile(sorted, 0.5), percentile(sorted, 0.95), percentile(sorted, 0.99), sorted.at(-1) ?? Number.NaN, mean]
    lines.push(`| ${label.padEnd(width)} | ${cells.map((v) => v.toFixed(2).padStart(8)).join(' | ')} |`)
  }
  return lines
}
