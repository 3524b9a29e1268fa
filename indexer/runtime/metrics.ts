// Prometheus metrics in the text exposition format 0.0.4: counters, gauges and histograms with
// labels. Each process owns one registry (createMetricsRegistry) and hands it to the parts it builds.

export type Labels = Readonly<Record<string, string>>

export interface Counter {
  inc(labels?: Labels, by?: number): void
}
export interface Gauge {
  set(value: number, labels?: Labels): void
  inc(labels?: Labels, by?: number): void
  dec(labels?: Labels, by?: number): void
}
export interface Histogram {
  observe(value: number, labels?: Labels): void
}

export interface MetricsRegistry {
  counter(name: string, help: string): Counter
  gauge(name: string, help: string): Gauge
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram
  /** The whole registry in Prometheus text format. */
  render(): string
}

export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8'

const defaultBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

interface Family {
  readonly name: string
  readonly help: string
  readonly kind: 'counter' | 'gauge' | 'histogram'
  render(): string[]
}

export function createMetricsRegistry(prefix = 'perp_'): MetricsRegistry {
  const families = new Map<string, Family>()
  const register = <T extends Family>(family: T): T => {
    if (families.has(family.name)) throw new Error(`metric ${family.name} is registered twice`)
    families.set(family.name, family)
    return family
  }
  return {
    counter(name, help) {
      const values = new Map<string, number>()
      const fullName = prefix + name
      register({ name: fullName, help, kind: 'counter', render: () => renderSeries(fullName, values) })
      return { inc: (labels = {}, by = 1) => add(values, labels, by) }
    },
    gauge(name, help) {
      const values = new Map<string, number>()
      const fullName = prefix + name
      register({ name: fullName, help, kind: 'gauge', render: () => renderSeries(fullName, values) })
      return {
        set: (value, labels = {}) => void values.set(labelKey(labels), value),
        inc: (labels = {}, by = 1) => add(values, labels, by),
        dec: (labels = {}, by = 1) => add(values, labels, -by),
      }
    },
    histogram(name, help, buckets = defaultBuckets) {
      const fullName = prefix + name
      const series = new Map<string, { counts: number[]; sum: number; count: number }>()
      register({ name: fullName, help, kind: 'histogram', render: () => renderHistogram(fullName, buckets, series) })
      return {
        observe(value, labels = {}) {
          const key = labelKey(labels)
          const entry = series.get(key) ?? { counts: buckets.map(() => 0), sum: 0, count: 0 }
          buckets.forEach((bound, i) => {
            if (value <= bound) entry.counts[i] = (entry.counts[i] ?? 0) + 1
          })
          entry.sum += value
          entry.count += 1
          series.set(key, entry)
        },
      }
    },
    render() {
      const lines: string[] = []
      for (const family of families.values()) {
        lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.kind}`, ...family.render())
      }
      return `${lines.join('\n')}\n`
    },
  }
}

function add(values: Map<string, number>, labels: Labels, by: number): void {
  const key = labelKey(labels)
  values.set(key, (values.get(key) ?? 0) + by)
}

// The map key is the rendered label set, so rendering needs no second pass over the labels.
function labelKey(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function renderSeries(name: string, values: Map<string, number>): string[] {
  return [...values].map(([labels, value]) => `${name}${labels} ${value}`)
}

function renderHistogram(
  name: string,
  buckets: readonly number[],
  series: Map<string, { counts: number[]; sum: number; count: number }>,
): string[] {
  const lines: string[] = []
  for (const [labels, entry] of series) {
    const inner = labels === '' ? '' : `${labels.slice(1, -1)},`
    buckets.forEach((bound, i) => lines.push(`${name}_bucket{${inner}le="${bound}"} ${entry.counts[i] ?? 0}`))
    lines.push(`${name}_bucket{${inner}le="+Inf"} ${entry.count}`, `${name}_sum${labels} ${entry.sum}`, `${name}_count${labels} ${entry.count}`)
  }
  return lines
}
