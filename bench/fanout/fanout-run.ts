// One server measured with N subscribers: start it alone, read its RSS empty and with the sockets
// idle, then step the offered rate up until the clients stop receiving everything in time.
import { merge, quantileMs } from './latency-histogram.ts'
import type { ServerKind } from './fanout-protocol.ts'
import { askFor, spawnClient, spawnServer, type ClientChild, type ServerChild } from './fanout-processes.ts'

export interface Settings {
  readonly workers: number
  readonly rates: readonly number[]
  readonly durationMs: number
  readonly repeats: number
}

export interface Step {
  /** Deliveries per second asked for: the publish rate times the subscribers. */
  readonly offered: number
  readonly delivered: number
  readonly deliveredMin: number
  readonly deliveredMax: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** The server's own part: how long one publish call took to write the frame to every subscriber. */
  readonly publishP99Ms: number
  readonly keptUp: boolean
  /** Share of one core. */
  readonly serverCpu: number
  /** Delivered msgs per second of the server's CPU time: its throughput with a whole core to itself. */
  readonly perCpuSecond: number
  readonly clientsCpu: number
}

export interface ServerResult {
  readonly kind: ServerKind
  readonly rssBefore: number
  readonly rssIdle: number
  readonly rssPer1k: number
  readonly steps: readonly Step[]
  readonly peak: Step
  readonly bestKeptUp: Step | undefined
}

const GRACE_MS = 250
const DRAIN_MS = 5000
/**
 * A step keeps up when this share of its frames arrived by the grace time and the server published
 * on schedule (a server that cannot publish as fast as asked stretches the step instead).
 */
const KEPT_UP = 0.99
const ON_SCHEDULE = 1.1
/** The sweep goes on past a step that fell behind only if it delivered this much more than the best before. */
const GROWTH = 1.1
const MAX_BEHIND_STEPS = 3

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN
}

async function totalReceived(clients: readonly ClientChild[]): Promise<number> {
  const counts = await Promise.all(clients.map((c) => askFor(c, { type: 'count' }, 'count')))
  return counts.reduce((sum, c) => sum + c.received, 0)
}

async function serverState(server: ServerChild): Promise<{ rss: number; open: number }> {
  return askFor(server, { type: 'rss' }, 'rss')
}

interface Sample {
  readonly delivered: number
  readonly keptUp: boolean
  readonly histogram: Uint32Array
  readonly publishHistogram: Uint32Array
  readonly serverCpu: number
  readonly perCpuSecond: number
  readonly clientsCpu: number
}

async function runOnce(server: ServerChild, clients: readonly ClientChild[], subscribers: number, rate: number, durationMs: number): Promise<Sample> {
  await Promise.all(clients.map((c) => askFor(c, { type: 'reset' }, 'count')))
  const ran = await askFor(server, { type: 'run', rate, durationMs }, 'ran')
  await sleep(GRACE_MS)
  const expected = ran.published * subscribers
  const inTime = await totalReceived(clients)
  const drainUntil = Date.now() + DRAIN_MS
  while ((await totalReceived(clients)) < expected && Date.now() < drainUntil) await sleep(50)
  const reports = await Promise.all(clients.map((c) => askFor(c, { type: 'report' }, 'report')))
  const clientWallMs = ran.wallMs + GRACE_MS
  return {
    delivered: inTime / (ran.wallMs / 1000),
    keptUp: inTime >= KEPT_UP * expected && ran.wallMs <= durationMs * ON_SCHEDULE,
    histogram: merge(reports.map((r) => r.histogram)),
    publishHistogram: ran.publishHistogram,
    serverCpu: ran.cpuMs / ran.wallMs,
    perCpuSecond: inTime / (ran.cpuMs / 1000),
    clientsCpu: reports.reduce((sum, r) => sum + r.cpuMs, 0) / clientWallMs,
  }
}

async function runStep(server: ServerChild, clients: readonly ClientChild[], subscribers: number, offered: number, settings: Settings): Promise<Step> {
  const rate = Math.max(1, Math.round(offered / subscribers))
  const samples: Sample[] = []
  for (let i = 0; i < settings.repeats; i++) samples.push(await runOnce(server, clients, subscribers, rate, settings.durationMs))
  const delivered = samples.map((s) => s.delivered)
  return {
    offered: rate * subscribers,
    delivered: median(delivered),
    deliveredMin: Math.min(...delivered),
    deliveredMax: Math.max(...delivered),
    p50Ms: median(samples.map((s) => quantileMs(s.histogram, 0.5))),
    p99Ms: median(samples.map((s) => quantileMs(s.histogram, 0.99))),
    publishP99Ms: median(samples.map((s) => quantileMs(s.publishHistogram, 0.99))),
    keptUp: samples.filter((s) => s.keptUp).length * 2 > samples.length,
    serverCpu: median(samples.map((s) => s.serverCpu)),
    perCpuSecond: median(samples.map((s) => s.perCpuSecond)),
    clientsCpu: median(samples.map((s) => s.clientsCpu)),
  }
}

async function connectClients(server: ServerChild, port: number, subscribers: number, workers: number): Promise<ClientChild[]> {
  const clients = Array.from({ length: workers }, () => spawnClient())
  await Promise.all(clients.map((c) => c.ready))
  // Each worker connects from its own loopback address, so that the runs do not exhaust one
  // address's ephemeral ports.
  await Promise.all(
    clients.map((c, i) => {
      const sockets = Math.floor(subscribers / workers) + (i < subscribers % workers ? 1 : 0)
      return askFor(c, { type: 'connect', port, sockets, localAddress: `127.0.0.${10 + i}` }, 'connected')
    }),
  )
  const deadline = Date.now() + 10_000
  while ((await serverState(server)).open < subscribers) {
    if (Date.now() > deadline) throw new Error(`fanout bench: the server has not opened ${subscribers} sockets`)
    await sleep(50)
  }
  return clients
}

export async function measureServer(kind: ServerKind, subscribers: number, settings: Settings): Promise<ServerResult> {
  const server = spawnServer(kind)
  const clients: ClientChild[] = []
  try {
    const ready = await server.ready
    if (ready.type !== 'listening') throw new Error(`fanout bench: the ${kind} server answered ${ready.type} before listening`)
    const { port } = ready
    // The baseline is read once start-up garbage (tsx's compilation included) was collected.
    await sleep(1500)
    await serverState(server)
    await sleep(500)
    const before = await serverState(server)
    clients.push(...(await connectClients(server, port, subscribers, settings.workers)))
    await sleep(1000)
    const idle = await serverState(server)
    const steps: Step[] = []
    for (const offered of settings.rates) {
      const step = await runStep(server, clients, subscribers, offered, settings)
      steps.push(step)
      process.stderr.write(`  ${kind} ${subscribers} subs, offered ${offered}/s: delivered ${Math.round(step.delivered)}/s, p99 ${step.p99Ms} ms${step.keptUp ? '' : ' (fell behind)'}\n`)
      // Past the first step that fell behind, go on only while throughput still grows: on a shared
      // machine one slow step is not yet the server's ceiling.
      const best = Math.max(...steps.slice(0, -1).map((s) => s.delivered), 0)
      if (!step.keptUp && step.delivered < best * GROWTH) break
      if (steps.filter((s) => !s.keptUp).length >= MAX_BEHIND_STEPS) break
    }
    const peak = steps.reduce((best, s) => (s.delivered > best.delivered ? s : best))
    const bestKeptUp = steps.filter((s) => s.keptUp).at(-1)
    return { kind, rssBefore: before.rss, rssIdle: idle.rss, rssPer1k: (idle.rss - before.rss) / (subscribers / 1000), steps, peak, bestKeptUp }
  } finally {
    await Promise.all(clients.map((c) => c.stop({ type: 'stop' })))
    await server.stop({ type: 'stop' })
  }
}
