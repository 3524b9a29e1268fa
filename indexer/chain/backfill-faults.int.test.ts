import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { startAnvil, type Anvil } from '../../test/support/anvil.ts'
import { canonicalRecords, firstDuplicateId, inChainOrder, readTopic, recordsByMarket } from '../../test/support/event-records.ts'
import { seededRandom, startFaultyRpcProxy, type FaultyRpcProxy } from '../../test/support/faulty-rpc-proxy.ts'
import { deployPerpDevnet, generatePerpEvents, type PerpDevnet } from '../../test/support/perp-load.ts'
import { createEmbeddedLog } from '../log/embedded-log.ts'
import type { ChainEventRecord } from '../records/schemas.ts'
import { silentLogger } from '../runtime/logger.ts'
import { createMetricsRegistry } from '../runtime/metrics.ts'
import { createBackfill } from './backfill.ts'
import { createEventDecoder } from './event-decoder.ts'
import { createChainRpc } from './json-rpc.ts'
import { createLogEventSink } from './log-event-sink.ts'
import { createLogToRecord } from './log-to-record.ts'

let anvil: Anvil
let devnet: PerpDevnet
let proxy: FaultyRpcProxy
let head: number
let expected: ChainEventRecord[]
let dir: string

beforeAll(async () => {
  anvil = await startAnvil()
  devnet = await deployPerpDevnet(anvil)
  await generatePerpEvents(devnet, { opens: 9_000, closes: 400, fundingUpdates: 600, perTransaction: 300 })
  head = await createChainRpc({ url: anvil.rpcUrl, timeoutMs: 10_000, logger: silentLogger }).blockNumber()
  expected = await canonicalRecords({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, contract: devnet.contract, toBlock: head })
  dir = await mkdtemp(join(tmpdir(), 'backfill-faults-'))
  proxy = await startFaultyRpcProxy({
    target: anvil.rpcUrl,
    // Each kind at least once early on, then at random (seeded, so a failure can be replayed).
    sequence: ['rate_limited', 'server_error', 'timeout', 'reset', 'rate_limited', 'server_error', 'reset'],
    probabilities: { rate_limited: 0.06, server_error: 0.06, timeout: 0.02, reset: 0.04 },
    maxGetLogsBlocks: 6,
    hangMs: 30_000,
    random: seededRandom(20_260_101),
  })
}, 300_000)

afterAll(async () => {
  await proxy?.close()
  await anvil?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('backfill through a faulty RPC', () => {
  it('completes with the same records as the canonical chain while 429s, 5xx, timeouts, resets and range errors are injected', async () => {
    const metrics = createMetricsRegistry()
    const log = createEmbeddedLog({ path: join(dir, 'log.db') })
    const rpc = createChainRpc({ url: proxy.url, timeoutMs: 500, logger: silentLogger, metrics })
    const sink = createLogEventSink({
      log,
      chainId: anvil.chainId,
      contract: devnet.contract,
      startBlock: 0,
      partitions: 3,
      finalityDepth: 0,
      logger: silentLogger,
      metrics,
    })
    const toRecord = createLogToRecord({ chainId: anvil.chainId, contract: devnet.contract, decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }) })
    const backfill = createBackfill({
      rpc,
      sink,
      toRecord,
      contract: devnet.contract,
      concurrency: 4,
      maxRange: 64,
      initialRange: 32,
      retry: { maxAttempts: 40, baseDelayMs: 5, maxDelayMs: 100 },
      logger: silentLogger,
      metrics,
      progress: () => ({ update: () => {}, finish: () => {} }),
    })
    try {
      await sink.resume()
      const result = await backfill.run({ from: 0, to: head })
      expect(result.events).toBe(expected.length)

      const stored = await readTopic(log, 'perp.events.v1')
      expect(stored.length).toBe(expected.length)
      expect(firstDuplicateId(stored)).toBeUndefined()
      expect(stored.map(({ record }) => record).sort(byId)).toEqual([...expected].sort(byId))
      for (const records of recordsByMarket(stored).values()) expect(inChainOrder(records)).toBe(true)

      const injected = proxy.injected()
      for (const kind of ['rate_limited', 'server_error', 'timeout', 'reset', 'range_error'] as const) {
        expect(injected[kind], kind).toBeGreaterThan(0)
      }
      const exposition = metrics.render()
      for (const kind of ['rate_limited', 'server_error', 'timeout', 'connection', 'range_too_large']) {
        expect(exposition).toMatch(new RegExp(`perp_rpc_errors_total\\{[^}]*kind="${kind}"`))
      }
      expect(exposition).toMatch(/perp_backfill_ranges_total\{outcome="split"\} [1-9]/)
    } finally {
      await rpc.close()
      await log.close()
    }
  }, 300_000)
})

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
