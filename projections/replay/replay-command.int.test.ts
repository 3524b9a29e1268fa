// The `replay` command as users run it (node with the TypeScript loader, its ticks folded in a worker
// thread), over an embedded log file with reorgs and a realistic load.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePerpWorkload } from '../../bench/replay-workload.ts'
import { createEmbeddedLog, type EmbeddedLog } from '../../indexer/log/embedded-log.ts'
import { createRecordWriter } from '../../indexer/log/typed-log.ts'
import { eventsTopicRecord, tickRecord, type EventsTopicRecord, type TickRecord } from '../../indexer/records/schemas.ts'
import { topics } from '../../indexer/records/topics.ts'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import { openReadModelStore } from '../store/sqlite-read-model-store.ts'
import { stateHash } from '../store/state-hash.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory } from '../test-support/fold-into-memory.ts'
import { createRandom, interleave } from '../test-support/random.ts'

const root = join(import.meta.dirname, '..', '..')

interface CommandRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function runReplay(dataDir: string, onStderr?: (text: string, interrupt: () => void) => void): Promise<CommandRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'projections/replay/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'info', MAX_BATCH_RECORDS: '500' },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    onStderr?.(stderr, () => child.kill('SIGINT'))
  })
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
}

function hashOfFile(path: string): string {
  const store = openReadModelStore({ path })
  try {
    return stateHash(store)
  } finally {
    store.close()
  }
}

describe('the replay command', () => {
  let dataDir: string
  let log: EmbeddedLog
  let canonicalHash: string

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'replay-command-'))
    log = createEmbeddedLog({ path: join(dataDir, 'log.db') })
    await log.ensureTopics([{ name: topics.events, partitions: 3 }, { name: topics.ticks, partitions: 3 }])
    const history = generateChainHistory(createRandom(7), { markets: ['reorg-a-perp', 'reorg-b-perp'], blocks: 120, reorgChance: 0.2, ticksPerMarket: 200 })
    const load = [...generatePerpWorkload({ records: 30_000, seed: 9 })]
    const loadEvents = load.flatMap((chunk) => chunk.events)
    const loadTicks = load.flatMap((chunk) => chunk.ticks)
    const events = createRecordWriter<EventsTopicRecord>({ log, topic: topics.events, schema: eventsTopicRecord, keyOf: (r) => r.market_id })
    const ticks = createRecordWriter<TickRecord>({ log, topic: topics.ticks, schema: tickRecord, keyOf: (r) => r.market_id })
    await events.write([...history.events.flat(), ...loadEvents])
    await ticks.write([...history.ticks.flat(), ...loadTicks])
    const canonical = foldIntoMemory()
    canonical.fold(interleave<ProjectionRecord>([...history.canonical, ...history.ticks, loadEvents, loadTicks], createRandom(3)))
    canonicalHash = canonical.hash()
  }, 120_000)

  afterAll(async () => {
    await log?.close()
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  })

  it('folds the ticks in a worker thread and prints the hash of the canonical chain and its ticks', async () => {
    const run = await runReplay(dataDir)
    expect(run.code, run.stderr.slice(-2000)).toBe(0)
    expect(run.stderr).toContain('"tickWorker":true')
    expect(run.stdout.trim()).toBe(canonicalHash)
    expect(hashOfFile(join(dataDir, 'read-models.db'))).toBe(canonicalHash)
  }, 120_000)

  it('fails on a corrupt tick, naming it, and leaves the replayed file as it was', async () => {
    const [position] = await log.append(topics.ticks, [{ key: 'btc-usdc-perp', value: Buffer.from('{"v":1,"type":"price_tick","id":"not a tick"}') }])
    const run = await runReplay(dataDir)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`corrupt record at ${topics.ticks}/${position!.partition}@${position!.offset}`)
    expect(run.stdout).toBe('')
    expect(hashOfFile(join(dataDir, 'read-models.db'))).toBe(canonicalHash)
    expect(existsSync(join(dataDir, 'read-models.db-wal'))).toBe(false)
  }, 120_000)

  it('stops on SIGINT in the middle of the fold, deleting its fresh file and leaving the replayed one as it was', async () => {
    const big = [...generatePerpWorkload({ records: 300_000, seed: 11, markets: 4 })]
    const names = { events: 'perp.events.v1', ticks: 'pyth.ticks.v1' }
    const bigDir = await mkdtemp(join(tmpdir(), 'replay-command-sigint-'))
    const bigLog = createEmbeddedLog({ path: join(bigDir, 'log.db') })
    try {
      await bigLog.ensureTopics([{ name: names.events, partitions: 3 }, { name: names.ticks, partitions: 3 }])
      const events = createRecordWriter<EventsTopicRecord>({ log: bigLog, topic: names.events, schema: eventsTopicRecord, keyOf: (r) => r.market_id })
      const ticks = createRecordWriter<TickRecord>({ log: bigLog, topic: names.ticks, schema: tickRecord, keyOf: (r) => r.market_id })
      await events.write(big.flatMap((chunk) => chunk.events))
      await ticks.write(big.flatMap((chunk) => chunk.ticks))
      const first = await runReplay(bigDir)
      expect(first.code, first.stderr.slice(-2000)).toBe(0)
      const replayed = hashOfFile(join(bigDir, 'read-models.db'))

      let interrupted = false
      const second = await runReplay(bigDir, (text, interrupt) => {
        // Once the fold has committed a few batches, well before its end.
        if (!interrupted && text.includes('"msg":"replay starting"')) {
          interrupted = true
          setTimeout(interrupt, 300)
        }
      })
      expect(second.code).toBe(1)
      expect(second.stderr).toContain('replay interrupted after')
      expect(second.stdout).toBe('')
      expect(hashOfFile(join(bigDir, 'read-models.db'))).toBe(replayed)
      expect((await readdir(bigDir)).filter((name) => name.includes('.replay-'))).toEqual([])
    } finally {
      await bigLog.close()
      await rm(bigDir, { recursive: true, force: true })
    }
  }, 180_000)
})
