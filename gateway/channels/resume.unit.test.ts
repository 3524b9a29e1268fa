import { describe, expect, it } from 'vitest'
import type { EventsTopicRecord } from '../../indexer/records/schemas.ts'
import { addressOf, hashOf, marketListed, positionOpened } from '../../projections/test-support/records.ts'
import { rawEventFrame } from '../protocol/messages.ts'
import { commitEvents } from '../test-support/changes.ts'
import type { FakeSocket } from '../test-support/fake-transport.ts'
import { createGatewayHarness, type GatewayHarness } from '../test-support/gateway-harness.ts'
import { createMemoryLog, type MemoryLog } from '../test-support/memory-log.ts'

const BTC = 'btc-usdc-perp'
const ETH = 'eth-usdc-perp'
const EVENTS = 'perp.events.v1'
const alice = addressOf('alice')

/** A position opening in `market` at `block`; its id and transaction follow the block. */
const opening = (market: string, block: number): EventsTopicRecord =>
  positionOpened(market, { block }, { position_id: hashOf(`position:${block}`), trader: alice, side: 'long', size: '1', collateral: '9000', entry_price: '50000' })

/** Log: BTC in partition 0 (blocks 2-5 at offsets 0-3), ETH in partition 1 (blocks 6-7 at 0-1), all folded. */
function setUp(bufferFrames = 100): { harness: GatewayHarness; log: MemoryLog } {
  const log = createMemoryLog()
  log.add(EVENTS, 0, [2, 3, 4, 5].map((b) => opening(BTC, b)))
  log.add(EVENTS, 1, [6, 7].map((b) => opening(ETH, b)))
  const harness = createGatewayHarness({
    records: [marketListed(BTC, { block: 1 }), marketListed(ETH, { block: 1, logIndex: 1 }), ...[2, 3, 4, 5].map((b) => opening(BTC, b)), ...[6, 7].map((b) => opening(ETH, b))],
    offsets: [
      { topic: EVENTS, partition: 0, next_offset: 4 },
      { topic: EVENTS, partition: 1, next_offset: 2 },
    ],
    log,
    options: { resume: { bufferFrames, timeoutMs: 10_000, highWaterBytes: 1 << 20 } },
  })
  return { harness, log }
}

/** Commits live events and adds them to the log at the same offsets. */
function commitLive(setup: { harness: GatewayHarness; log: MemoryLog }, partition: number, offset: number, records: EventsTopicRecord[]): void {
  setup.log.add(EVENTS, partition, records)
  commitEvents(setup.harness, partition, offset, records)
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20))
const txOf = (records: EventsTopicRecord[]) => records.map((r) => ('tx_hash' in r.chain ? r.chain.tx_hash : ''))
const rawFrames = (socket: FakeSocket) => socket.frames().filter((f) => 'cursor' in f).map((f) => rawEventFrame.parse(f))
const txs = (socket: FakeSocket) => rawFrames(socket).map((f) => ('transaction_hash' in f.data ? f.data.transaction_hash : ''))

describe('resume by cursor', () => {
  it('replays what was missed, then what arrived during the replay, then goes live, each event once', async () => {
    const setup = setUp()
    const socket = setup.harness.transport.open('/api/v1/ws/events', 'from=1.2-1')
    // Arrive while the replay waits for the log.
    commitLive(setup, 0, 4, [opening(BTC, 8)])
    commitLive(setup, 1, 2, [opening(ETH, 9)])
    expect(rawFrames(socket)).toEqual([])
    setup.log.openGate()
    await settle()
    commitLive(setup, 0, 5, [opening(BTC, 10)])
    expect(txs(socket)).toEqual(txOf([opening(BTC, 4), opening(BTC, 5), opening(ETH, 7), opening(BTC, 8), opening(ETH, 9), opening(BTC, 10)]))
    expect(rawFrames(socket).map((f) => f.cursor)).toEqual(['1.3-1', '1.4-1', '1.4-2', '1.5-2', '1.5-3', '1.6-3'])
    expect(socket.topics.has('raw:events')).toBe(true)
  })

  it('replays nothing for a cursor at the live position and subscribes at once', () => {
    const setup = setUp()
    const socket = setup.harness.transport.open('/api/v1/ws/events', 'from=1.4-2')
    expect(setup.log.consumers).toBe(0)
    commitLive(setup, 0, 4, [opening(BTC, 8)])
    expect(txs(socket)).toEqual(txOf([opening(BTC, 8)]))
  })

  it('skips live frames below a cursor that is ahead of this replica, then subscribes', () => {
    const setup = setUp()
    const socket = setup.harness.transport.open('/api/v1/ws/events', 'from=1.6-2')
    commitLive(setup, 0, 4, [opening(BTC, 8), opening(BTC, 10)])
    expect(socket.topics.has('raw:events')).toBe(true)
    commitLive(setup, 0, 6, [opening(BTC, 11)])
    expect(txs(socket)).toEqual(txOf([opening(BTC, 11)]))
  })

  it('closes with 1013 when more live frames arrive during the replay than it may hold', async () => {
    const setup = setUp(1)
    const socket = setup.harness.transport.open('/api/v1/ws/events', 'from=1.0-0')
    commitLive(setup, 0, 4, [opening(BTC, 8), opening(BTC, 10)])
    setup.log.openGate()
    await settle()
    expect(socket.closedWith).toEqual({ code: 1013, reason: 'replay_overflow' })
    expect(socket.frames().at(-1)).toMatchObject({ type: 'error', code: 'replay_overflow' })
  })
})
