import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { startAnvil, type Anvil } from '../../test/support/anvil.ts'
import { canonicalRecords, firstDuplicateId, inChainOrder, readTopic, recordsByMarket } from '../../test/support/event-records.ts'
import { kafkaBrokersOrSkip, uniqueTopic } from '../../test/support/kafka.ts'
import { deployPerpDevnet, generatePerpEvents, type PerpDevnet } from '../../test/support/perp-load.ts'
import { createEmbeddedLog } from '../log/embedded-log.ts'
import { createKafkaLog } from '../log/kafka-log.ts'
import type { Log } from '../log/log.ts'
import type { ChainEventRecord } from '../records/schemas.ts'
import { topics } from '../records/topics.ts'
import { silentLogger } from '../runtime/logger.ts'
import { createMetricsRegistry } from '../runtime/metrics.ts'
import { createBackfill } from './backfill.ts'
import { createEventDecoder } from './event-decoder.ts'
import type { ChainRpc } from './chain-rpc.ts'
import { createChainRpc } from './json-rpc.ts'
import { createLogEventSink } from './log-event-sink.ts'
import { createLogToRecord } from './log-to-record.ts'

const PARTITIONS = 3
const { brokers, skipReason } = kafkaBrokersOrSkip()

let anvil: Anvil
let devnet: PerpDevnet
let head: number
let expected: ChainEventRecord[]
let dir: string

beforeAll(async () => {
  anvil = await startAnvil()
  devnet = await deployPerpDevnet(anvil)
  // 50,000 events over a few hundred blocks and the three markets, plus the three MarketListed.
  await generatePerpEvents(devnet, { opens: 48_000, closes: 800, fundingUpdates: 1_200, perTransaction: 500 })
  const rpc = createChainRpc({ url: anvil.rpcUrl, timeoutMs: 30_000, logger: silentLogger })
  head = await rpc.blockNumber()
  expected = await canonicalRecords({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, contract: devnet.contract, toBlock: head })
  dir = await mkdtemp(join(tmpdir(), 'backfill-int-'))
}, 600_000)

afterAll(async () => {
  await anvil?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

interface Topics {
  readonly events: string
  readonly checkpoints: string
}

/**
 * How the backfill hands records to the sink: record objects, the trusted path's JSON from parsed
 * answers, or that JSON written by the answer reader straight from the answers' bytes where they are
 * in its layout (the indexer's path over HTTP).
 */
type WritePath = 'records' | 'parsed json' | 'json'

/** A whole backfill from block 0 to the head, as the indexer runs it, into `log`. */
async function backfillInto(
  log: Log,
  logTopics: Topics,
  concurrency: number,
  path: WritePath = 'json',
): Promise<{ nextBlock: number; events: number; answers: Record<string, number> }> {
  const metrics = createMetricsRegistry()
  const client = createChainRpc({ url: anvil.rpcUrl, timeoutMs: 30_000, logger: silentLogger, metrics })
  // Without getLogsReading every answer is parsed.
  const { getLogsReading, ...parsedOnly } = client
  const rpc: ChainRpc = path === 'json' && getLogsReading !== undefined ? { ...parsedOnly, getLogsReading } : parsedOnly
  const sink = createLogEventSink({
    log,
    chainId: anvil.chainId,
    contract: devnet.contract,
    startBlock: 0,
    partitions: PARTITIONS,
    finalityDepth: 0,
    logger: silentLogger,
    metrics,
    eventsTopic: logTopics.events,
    checkpointTopic: logTopics.checkpoints,
  })
  const toRecord = createLogToRecord({
    chainId: anvil.chainId,
    contract: devnet.contract,
    decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }),
  })
  const backfill = createBackfill({
    ...{ rpc, toRecord, contract: devnet.contract, concurrency, maxRange: 500, logger: silentLogger, metrics, progress: quietProgress },
    // Without appendEncoded the backfill hands the sink record objects.
    sink: path === 'records' ? { appendFinalized: (range) => sink.appendFinalized(range) } : sink,
  })
  const start = await sink.resume()
  const result = await backfill.run({ from: start.nextBlock, to: head })
  await rpc.close()
  return { nextBlock: (await sink.resume()).nextBlock, events: result.events, answers: answersRead(metrics.render()) }
}

/** perp_backfill_log_answers_total by reader, from the metrics text. */
function answersRead(metricsText: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const match of metricsText.matchAll(/^perp_backfill_log_answers_total\{reader="(\w+)"\} (\d+)$/gm)) counts[match[1]!] = Number(match[2])
  return counts
}

const quietProgress = () => ({ update: () => {}, finish: () => {} })

async function expectCanonicalTopic(log: Log, topic: string): Promise<void> {
  const stored = await readTopic(log, topic)
  expect(stored.length).toBe(expected.length)
  expect(firstDuplicateId(stored)).toBeUndefined()
  const byId = new Map(stored.map(({ record }) => [record.id, record]))
  for (const record of expected) expect(byId.get(record.id)).toEqual(record)
  const byMarket = recordsByMarket(stored)
  expect([...byMarket.keys()].sort()).toEqual(['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp'])
  for (const records of byMarket.values()) expect(inChainOrder(records)).toBe(true)
  for (const { key, record } of stored) expect(key).toBe(record.market_id)
}

describe('backfill of 50k events from anvil', () => {
  it('saw the load spread over many blocks and every event type', () => {
    expect(expected.length).toBe(50_003)
    expect(new Set(expected.map((r) => r.chain.block_number)).size).toBeGreaterThan(100)
    expect(new Set(expected.map((r) => r.type))).toEqual(new Set(['market_listed', 'position_opened', 'position_closed', 'funding_updated']))
  })

  // Both backends: the first backfill writes the canonical set; a second indexer over the same log
  // resumes after the head (reading the checkpoint and the partitions' tails back) and writes nothing.
  async function expectExactlyOnceBackfill(log: Log, logTopics: Topics): Promise<void> {
    const first = await backfillInto(log, logTopics, 4)
    expect(first).toMatchObject({ nextBlock: head + 1, events: expected.length })
    await expectCanonicalTopic(log, logTopics.events)
    const second = await backfillInto(log, logTopics, 4)
    expect(second).toMatchObject({ nextBlock: head + 1, events: 0 })
    expect((await log.endOffsets(logTopics.events)).reduce((a, b) => a + b, 0)).toBe(expected.length)
  }

  it('writes every event exactly once, in chain order per market, into the embedded log', async () => {
    const log = createEmbeddedLog({ path: join(dir, 'log.db') })
    try {
      await expectExactlyOnceBackfill(log, { events: topics.events, checkpoints: topics.indexerCheckpoints })
    } finally {
      await log.close()
    }
  }, 300_000)

  // The bytes of every record, by partition and offset, as the log stores them.
  async function storedValues(log: Log, topic: string): Promise<string[]> {
    const values: string[] = []
    const ends = await log.endOffsets(topic)
    let left = ends.reduce((a, b) => a + b, 0)
    let done: () => void = () => {}
    const allRead = new Promise<void>((resolve) => (done = resolve))
    const consumer = log.consume({
      topics: [topic],
      groupId: `bytes-${Math.random().toString(36).slice(2)}`,
      from: () => 0,
      onBatch: async ({ partition, records }) => {
        for (const r of records) values.push(`${partition}/${r.offset} ${r.key} ${r.value.toString('hex')}`)
        left -= records.length
        if (left === 0) done()
      },
    })
    await Promise.race([allRead, consumer.done])
    await consumer.stop()
    return values.sort()
  }

  it('stores byte for byte the same records, keys and partitions through the answer reader, the parsed JSON path and record objects', async () => {
    const paths: WritePath[] = ['records', 'parsed json', 'json']
    const stored: string[][] = []
    for (const path of paths) {
      const log = createEmbeddedLog({ path: join(dir, `bytes-${path.replace(' ', '-')}.db`) })
      try {
        const run = await backfillInto(log, { events: topics.events, checkpoints: topics.indexerCheckpoints }, 4, path)
        expect(run).toMatchObject({ nextBlock: head + 1, events: expected.length })
        // The reader takes anvil's answers, all but the one holding the MarketListed logs.
        if (path === 'json') expect(run.answers).toEqual({ layout: expect.any(Number), parsed: 1 })
        else expect(run.answers['layout']).toBeUndefined()
        if (path === 'json') expect(run.answers['layout']).toBeGreaterThan(5)
        stored.push(await storedValues(log, topics.events))
      } finally {
        await log.close()
      }
    }
    expect(stored[0]!.length).toBe(expected.length)
    expect(stored[1]).toEqual(stored[0])
    expect(stored[2]).toEqual(stored[0])
  }, 300_000)

  describe.skipIf(brokers.length === 0)(`into Kafka${skipReason === '' ? '' : ` (skipped: ${skipReason})`}`, () => {
    it('writes every event exactly once, in chain order per market, into Kafka', async () => {
      const log = createKafkaLog({ brokers, clientId: 'backfill-int-test', logger: silentLogger })
      try {
        await expectExactlyOnceBackfill(log, { events: uniqueTopic('perp.events'), checkpoints: uniqueTopic('perp.checkpoints') })
      } finally {
        await log.close()
      }
    }, 300_000)
  })
})
