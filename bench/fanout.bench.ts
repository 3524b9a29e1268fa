// Fan-out of one market's price stream to 1k and 5k subscribers: the gateway's transport
// (createUwsTransport, topic publish) beside a plain `ws`-library server doing the same job, each
// alone in its own process (so its RSS is its own), with the subscribers spread over client worker
// processes. For each server the publish rate steps up until delivery falls behind; each step runs
// --repeats times and the table shows medians. Delivered msgs/s counts frames that reached a client
// by 250 ms after the step's last publish; latency counts every frame, late ones included, and the
// "publish call" column is the server's own part of it (one publish writing to every subscriber).
import { cpus, loadavg } from 'node:os'
import { readBenchArgs } from './bench-args.ts'
import type { ServerKind } from './fanout/fanout-protocol.ts'
import { measureServer, type ServerResult, type Settings } from './fanout/fanout-run.ts'

export const description = 'fan-out of one price stream to 1k and 5k WebSocket subscribers: our uWS transport against a plain ws server'

const HELP = `Usage: npm run bench -- fanout [options]

  --subscribers <list>  subscriber counts, comma-separated (default 1000,5000)
  --workers <n>         client worker processes the subscribers are spread over (default 2)
  --rates <list>        offered deliveries per second to step through, comma-separated
                        (default 50000,100000,200000,400000,800000,1600000,3200000)
  --duration-ms <n>     length of one step (default 2000)
  --repeats <n>         runs per step; the table shows the median (default 3)
  --servers <list>      uws, ws or both (default uws,ws)
`

const TARGET_RATIO = 8
const TARGET_P99_MS = 100
const TARGET_RSS_PER_1K = 2 * 1024 * 1024

function list(args: readonly string[], name: string, fallback: string): string[] {
  const at = args.indexOf(`--${name}`)
  return (at >= 0 ? (args[at + 1] ?? '') : fallback).split(',').filter((s) => s !== '')
}

function positiveInts(values: readonly string[], name: string): number[] {
  return values.map((v) => {
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`fanout bench: --${name} takes positive integers, not ${v}`)
    return n
  })
}

function parseArgs(argv: readonly string[]): { settings: Settings; subscribers: number[]; servers: ServerKind[] } | undefined {
  const args = readBenchArgs('fanout', argv)
  if (args === undefined) return undefined
  const servers = list(argv, 'servers', 'uws,ws')
  if (!servers.every((s): s is ServerKind => s === 'uws' || s === 'ws')) throw new Error('fanout bench: --servers lists uws and/or ws')
  return {
    subscribers: positiveInts(list(argv, 'subscribers', '1000,5000'), 'subscribers'),
    servers,
    settings: {
      workers: args.int('workers', 2),
      rates: positiveInts(list(argv, 'rates', '50000,100000,200000,400000,800000,1600000,3200000'), 'rates'),
      durationMs: args.int('duration-ms', 2000),
      repeats: args.int('repeats', 3),
    },
  }
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a'
const mib = (bytes: number): string => `${fmt(bytes / 1024 / 1024, 1)} MiB`

function printSteps(subscribers: number, results: readonly ServerResult[]): void {
  const rows = [
    `| server | offered msgs/s | delivered msgs/s (median) | min..max | p50 ms | p99 ms | publish call p99 ms | kept up | server CPU | msgs per server CPU-s | clients CPU |`,
    `|---|---|---|---|---|---|---|---|---|---|---|`,
  ]
  for (const result of results) {
    for (const step of result.steps) {
      rows.push(
        `| ${result.kind} | ${fmt(step.offered)} | ${fmt(step.delivered)} | ${fmt(step.deliveredMin)}..${fmt(step.deliveredMax)} | ` +
          `${fmt(step.p50Ms, 2)} | ${fmt(step.p99Ms, 2)} | ${fmt(step.publishP99Ms, 2)} | ${step.keptUp ? 'yes' : 'no'} | ${fmt(step.serverCpu * 100)}% | ${fmt(step.perCpuSecond)} | ${fmt(step.clientsCpu * 100)}% |`,
      )
    }
  }
  process.stdout.write(`\n${subscribers} subscribers:\n${rows.join('\n')}\n`)
}

function printSummary(subscribers: number, results: readonly ServerResult[]): string[] {
  const lines: string[] = []
  for (const r of results) {
    lines.push(
      `  ${r.kind.padEnd(3)} ${subscribers} subs: peak ${fmt(r.peak.delivered)} delivered msgs/s (p50 ${fmt(r.peak.p50Ms, 2)} ms, p99 ${fmt(r.peak.p99Ms, 2)} ms); ` +
        `server RSS ${mib(r.rssBefore)} empty, ${mib(r.rssIdle)} with ${subscribers} idle sockets = ${mib(r.rssPer1k)} per 1k`,
    )
  }
  const ours = results.find((r) => r.kind === 'uws')
  const theirs = results.find((r) => r.kind === 'ws')
  if (ours !== undefined && theirs !== undefined) {
    const ratio = ours.peak.delivered / theirs.peak.delivered
    const perCpu = (steps: readonly { perCpuSecond: number }[]): number => Math.max(...steps.map((s) => s.perCpuSecond))
    lines.push(`  ${subscribers} subscribers: ${fmt(ratio, 1)}× ws`)
    lines.push(`  ${subscribers} subscribers, per server CPU-second (best step each): ${fmt(perCpu(ours.steps) / perCpu(theirs.steps), 1)}× ws`)
    lines.push(`  target >= ${TARGET_RATIO}× ws: ${ratio >= TARGET_RATIO ? 'PASS' : 'MISS'} (${fmt(ratio, 1)}×)`)
  }
  if (ours !== undefined) {
    if (subscribers >= 5000) {
      const p99 = ours.bestKeptUp?.p99Ms ?? Number.NaN
      lines.push(`  target p99 < ${TARGET_P99_MS} ms at ${subscribers} (highest step kept up, ${fmt(ours.bestKeptUp?.delivered ?? Number.NaN)} msgs/s): ${p99 < TARGET_P99_MS ? 'PASS' : 'MISS'} (${fmt(p99, 2)} ms)`)
    }
    lines.push(`  target RSS <= 2 MiB per 1k idle: ${ours.rssPer1k <= TARGET_RSS_PER_1K ? 'PASS' : 'MISS'} (${mib(ours.rssPer1k)})`)
  }
  return lines
}

export async function run(argv: readonly string[]): Promise<void> {
  const parsed = parseArgs(argv)
  if (parsed === undefined) {
    process.stdout.write(HELP)
    return
  }
  const { settings, subscribers, servers } = parsed
  const cpu = cpus()
  process.stdout.write(
    `fanout: ${subscribers.join(', ')} subscribers on one topic, over ${settings.workers} client worker processes; ` +
      `${settings.repeats} runs of ${settings.durationMs} ms per step\n` +
      `machine: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, node ${process.version}; load average at start ${loadavg().map((l) => l.toFixed(2)).join(', ')}\n`,
  )
  const summary: string[] = []
  for (const count of subscribers) {
    const results: ServerResult[] = []
    for (const kind of servers) results.push(await measureServer(kind, count, settings))
    printSteps(count, results)
    summary.push(...printSummary(count, results))
  }
  process.stdout.write(`\nsummary (load average at end ${loadavg().map((l) => l.toFixed(2)).join(', ')}):\n${summary.join('\n')}\n`)
}
