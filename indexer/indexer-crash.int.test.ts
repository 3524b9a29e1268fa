import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAnvil, type Anvil } from '../test/support/anvil.ts'
import { canonicalRecords, firstDuplicateId, inChainOrder, readTopic, recordsByMarket } from '../test/support/event-records.ts'
import { seededRandom } from '../test/support/faulty-rpc-proxy.ts'
import { startIndexerProcess, waitUntil, type IndexerProcess } from '../test/support/indexer-process.ts'
import { deployPerpDevnet, generatePerpEvents, type PerpDevnet } from '../test/support/perp-load.ts'
import { createChainRpc } from './chain/json-rpc.ts'
import { createEmbeddedLog } from './log/embedded-log.ts'
import type { ChainEventRecord } from './records/schemas.ts'
import { silentLogger } from './runtime/logger.ts'

const seed = Date.now() % 1_000_000
const random = seededRandom(seed)

let anvil: Anvil
let devnet: PerpDevnet
let expected: ChainEventRecord[]
let dir: string
const children = new Set<ChildProcess>()

beforeAll(async () => {
  anvil = await startAnvil()
  devnet = await deployPerpDevnet(anvil)
  await generatePerpEvents(devnet, { opens: 58_000, closes: 1_000, fundingUpdates: 1_000, perTransaction: 250 })
  const head = await createChainRpc({ url: anvil.rpcUrl, timeoutMs: 10_000, logger: silentLogger }).blockNumber()
  expected = await canonicalRecords({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, contract: devnet.contract, toBlock: head })
  dir = await mkdtemp(join(tmpdir(), 'indexer-crash-'))
}, 600_000)

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await anvil?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** `indexer/main.ts` as its own process on the embedded log in `dir`, small ranges so the backfill takes a while. */
function startIndexer(): IndexerProcess {
  return startIndexerProcess({ RPC_URL: anvil.rpcUrl, CONTRACT_ADDRESS: devnet.contract, CHAIN_ID: String(anvil.chainId), DATA_DIR: dir }, children)
}

/** Records on the log right now, read by another process's view of the file. */
async function recordCount(): Promise<number> {
  const log = createEmbeddedLog({ path: join(dir, 'log.db') })
  try {
    if ((await log.partitionCount('perp.events.v1')) === undefined) return 0
    return (await log.endOffsets('perp.events.v1')).reduce((a, b) => a + b, 0)
  } finally {
    await log.close()
  }
}

describe(`indexer process killed with SIGKILL during its backfill (seed ${seed})`, () => {
  it('resumes after each kill and ends with the canonical records, each once', async () => {
    const countsAtKill: number[] = []
    for (let kill = 0; kill < 3; kill++) {
      // Each kill lands at a random point of its own stretch of the backfill, found by counting the
      // records on the log: a wall-clock delay would land after the end on a fast machine.
      const target = Math.floor(expected.length * (0.1 + 0.25 * kill + random() * 0.2))
      const indexer = startIndexer()
      await indexer.waitFor('backfill starting', 60_000)
      await waitUntil(async () => (await recordCount()) >= target, 120_000, 10)
      indexer.child.kill('SIGKILL')
      await indexer.exited
      countsAtKill.push(await recordCount())
    }
    // The kills landed while records were still missing.
    expect(countsAtKill.at(-1)!, `records at each kill: ${countsAtKill.join(', ')}`).toBeLessThan(expected.length)

    const last = startIndexer()
    await last.waitFor('live tail started', 180_000)
    // The live tail writes the last FINALITY_DEPTH blocks; then nothing more may come.
    await waitUntil(async () => (await recordCount()) >= expected.length, 60_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await recordCount()).toBe(expected.length)
    last.child.kill('SIGTERM')
    expect(await last.exited, last.stderr().slice(-2000)).toBe(0)

    const log = createEmbeddedLog({ path: join(dir, 'log.db') })
    try {
      const stored = await readTopic(log, 'perp.events.v1')
      expect(firstDuplicateId(stored)).toBeUndefined()
      expect(stored.length).toBe(expected.length)
      const byId = new Map(stored.map(({ record }) => [record.id, record]))
      for (const record of expected) expect(byId.get(record.id)).toEqual(record)
      for (const records of recordsByMarket(stored).values()) expect(inChainOrder(records)).toBe(true)
    } finally {
      await log.close()
    }
  }, 600_000)
})
