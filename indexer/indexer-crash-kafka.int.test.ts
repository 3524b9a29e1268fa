import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAnvil, type Anvil } from '../test/support/anvil.ts'
import { canonicalRecords, firstDuplicateId, inChainOrder, readTopic, recordsByMarket } from '../test/support/event-records.ts'
import { seededRandom } from '../test/support/faulty-rpc-proxy.ts'
import { startIndexerProcess, waitUntil, type IndexerProcess } from '../test/support/indexer-process.ts'
import { kafkaBrokersOrSkip } from '../test/support/kafka.ts'
import { deployPerpDevnet, generatePerpEvents, type PerpDevnet } from '../test/support/perp-load.ts'
import { createChainRpc } from './chain/json-rpc.ts'
import { createKafkaLog, type KafkaLog } from './log/kafka-log.ts'
import type { ChainEventRecord } from './records/schemas.ts'
import { topics } from './records/topics.ts'
import { silentLogger } from './runtime/logger.ts'

// The Kafka variant of indexer-crash.int.test.ts: the indexer process, writing into the run's real
// Kafka broker, is killed with SIGKILL three times during its backfill, each time once a chosen
// number of records is on the log (never after a wall-clock delay, which would land past the end
// on a fast machine and at the start on a slow one). A fourth run must end with every canonical
// record exactly once, in chain order per market.
//
// The indexer writes the topics it always writes (perp.events.v1, perp.indexer.checkpoints.v1): the
// broker of a test run is fresh, and no other test writes them there.

const seed = Date.now() % 1_000_000
const random = seededRandom(seed)
const { brokers, skipReason } = kafkaBrokersOrSkip()

let anvil: Anvil
let devnet: PerpDevnet
let expected: ChainEventRecord[]
let log: KafkaLog
const children = new Set<ChildProcess>()

/** `indexer/main.ts` as its own process on the Kafka log, small ranges so the backfill takes many appends. */
function startIndexer(): IndexerProcess {
  return startIndexerProcess({ RPC_URL: anvil.rpcUrl, CONTRACT_ADDRESS: devnet.contract, CHAIN_ID: String(anvil.chainId), KAFKA_BROKERS: brokers.join(',') }, children)
}

/** Records on perp.events.v1 right now: the sum of its partitions' high watermarks. */
async function recordCount(): Promise<number> {
  if ((await log.partitionCount(topics.events)) === undefined) return 0
  return (await log.endOffsets(topics.events)).reduce((a, b) => a + b, 0)
}

describe.skipIf(brokers.length === 0)(`indexer process on Kafka killed with SIGKILL during its backfill (seed ${seed})${skipReason === '' ? '' : ` (skipped: ${skipReason})`}`, () => {
  beforeAll(async () => {
    log = createKafkaLog({ brokers, clientId: 'indexer-crash-kafka-test', logger: silentLogger })
    for (const topic of [topics.events, topics.indexerCheckpoints]) {
      if ((await log.partitionCount(topic)) !== undefined) {
        throw new Error(`the broker at ${brokers.join(',')} already has ${topic}; this test needs a broker without it`)
      }
    }
    anvil = await startAnvil()
    devnet = await deployPerpDevnet(anvil)
    await generatePerpEvents(devnet, { opens: 29_000, closes: 500, fundingUpdates: 500, perTransaction: 250 })
    const head = await createChainRpc({ url: anvil.rpcUrl, timeoutMs: 10_000, logger: silentLogger }).blockNumber()
    expected = await canonicalRecords({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, contract: devnet.contract, toBlock: head })
  }, 600_000)

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL')
    await log?.close()
    await anvil?.stop()
  })

  it('resumes after each kill and ends with the canonical records, each once', async () => {
    const countsAtKill: number[] = []
    for (let kill = 0; kill < 3; kill++) {
      // Each kill lands at a random point of its own stretch of the backfill, found by counting the
      // records on the log.
      const target = Math.floor(expected.length * (0.1 + 0.25 * kill + random() * 0.2))
      const indexer = startIndexer()
      await indexer.waitFor('backfill starting', 60_000)
      await waitUntil(async () => (await recordCount()) >= target, 180_000, 20)
      indexer.child.kill('SIGKILL')
      await indexer.exited
      countsAtKill.push(await recordCount())
    }
    // The kills landed while records were still missing.
    expect(countsAtKill.at(-1)!, `records at each kill: ${countsAtKill.join(', ')}`).toBeLessThan(expected.length)
    expect(countsAtKill[0]!).toBeGreaterThan(0)

    const last = startIndexer()
    await last.waitFor('live tail started', 180_000)
    // The live tail writes the last FINALITY_DEPTH blocks; then nothing more may come.
    await waitUntil(async () => (await recordCount()) >= expected.length, 60_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await recordCount()).toBe(expected.length)
    last.child.kill('SIGTERM')
    expect(await last.exited, last.stderr().slice(-2000)).toBe(0)

    const stored = await readTopic(log, topics.events)
    expect(firstDuplicateId(stored)).toBeUndefined()
    expect(stored.length).toBe(expected.length)
    const byId = new Map(stored.map(({ record }) => [record.id, record]))
    for (const record of expected) expect(byId.get(record.id)).toEqual(record)
    for (const records of recordsByMarket(stored).values()) expect(inChainOrder(records)).toBe(true)
  }, 600_000)
})
