// The command-line arguments every benchmark shares: `--name value` pairs, positive integers with
// defaults, the log backends to measure and optional external Kafka brokers.

export type BenchBackend = 'embedded' | 'kafka'

export interface BenchArgs {
  int(name: string, fallback: number): number
  readonly backends: ReadonlySet<BenchBackend>
  readonly brokers: string | undefined
}

/** undefined when --help was asked for; throws naming the bad argument otherwise. */
export function readBenchArgs(bench: string, args: readonly string[]): BenchArgs | undefined {
  const values = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (arg === '--help' || arg === '-h') return undefined
    const value = args[i + 1]
    if (!arg.startsWith('--') || value === undefined) throw new Error(`${bench} bench: bad argument ${arg}; see --help`)
    values.set(arg.slice(2), value)
    i++
  }
  const backend = values.get('backend') ?? 'both'
  if (backend !== 'embedded' && backend !== 'kafka' && backend !== 'both') {
    throw new Error(`${bench} bench: --backend is embedded, kafka or both`)
  }
  return {
    int(name, fallback) {
      const n = Number(values.get(name) ?? fallback)
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${bench} bench: --${name} must be a positive integer`)
      return n
    },
    backends: new Set<BenchBackend>(backend === 'both' ? ['embedded', 'kafka'] : [backend]),
    brokers: values.get('brokers'),
  }
}
