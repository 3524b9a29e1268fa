// The benchmark runner: `npm run bench -- <name> [args]` runs bench/<name>.bench.ts; without a name
// (or with --help) it lists the benchmarks. A benchmark module exports a one-line `description` and
// `run(args)`, and starts whatever it measures against (a Kafka broker, a temp file) itself.
import { readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface BenchmarkModule {
  readonly description: string
  run(args: readonly string[]): Promise<void>
}

const benchDir = dirname(fileURLToPath(import.meta.url))
const SUFFIX = '.bench.ts'

async function benchmarkNames(): Promise<string[]> {
  const files = await readdir(benchDir)
  return files.filter((f) => f.endsWith(SUFFIX)).map((f) => f.slice(0, -SUFFIX.length)).sort()
}

async function load(name: string): Promise<BenchmarkModule> {
  const module: Partial<BenchmarkModule> = await import(pathToFileURL(join(benchDir, `${name}${SUFFIX}`)).href)
  if (typeof module.run !== 'function' || typeof module.description !== 'string') {
    throw new Error(`bench/${name}${SUFFIX} must export description (string) and run(args)`)
  }
  return { description: module.description, run: module.run }
}

async function usage(): Promise<string> {
  const names = await benchmarkNames()
  const width = Math.max(0, ...names.map((n) => n.length))
  const rows = await Promise.all(names.map(async (n) => `  ${n.padEnd(width)}  ${(await load(n)).description}`))
  return ['Usage: npm run bench -- <name> [args]   (npm run bench -- <name> --help for its options)', '', 'Benchmarks:', ...rows, ''].join('\n')
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(await usage())
    return 0
  }
  if (!(await benchmarkNames()).includes(name)) {
    process.stderr.write(`unknown benchmark ${JSON.stringify(name)}\n\n${await usage()}`)
    return 2
  }
  await (await load(name)).run(args)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)
