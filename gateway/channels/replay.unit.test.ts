import { describe, expect, it } from 'vitest'
import type { RecordBatch } from '../../indexer/log/log.ts'
import { createMetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { EventsTopicRecord } from '../../indexer/records/schemas.ts'
import { addressOf, hashOf, marketListed, positionOpened } from '../../projections/test-support/records.ts'
import { rawEventFrame } from '../protocol/messages.ts'
import type { GatewayConnection } from './connection-context.ts'
import { createFrameSender } from './frame-sender.ts'
import { createReplay } from './replay.ts'
import { EVENTS_RAW_TOPIC, positionsRawTopic } from './topics.ts'

const BTC = 'btc-usdc-perp'
const alice = addressOf('alice')
const bob = addressOf('bob')

function connection(): GatewayConnection & { readonly sent: string[] } {
  const sent: string[] = []
  return {
    id: 1,
    ip: '127.0.0.1',
    context: { route: { kind: 'events' }, resumeFrom: undefined, cursorError: undefined },
    sent,
    isOpen: () => true,
    send: (text) => (sent.push(text), 'sent'),
    subscribe: () => undefined,
    close: () => undefined,
    bufferedAmount: () => 0,
  }
}

const opening = (block: number, trader: string): EventsTopicRecord =>
  positionOpened(BTC, { block }, { position_id: hashOf(`position:${block}`), trader, side: 'long', size: '1', collateral: '1000', entry_price: '50000' })

function batch(partition: number, firstOffset: number, records: readonly (EventsTopicRecord | string)[]): RecordBatch {
  return {
    topic: 'perp.events.v1',
    partition,
    records: records.map((record, i) => ({
      topic: 'perp.events.v1',
      partition,
      offset: firstOffset + i,
      key: BTC,
      value: Buffer.from(typeof record === 'string' ? record : JSON.stringify(record)),
      headers: {},
      timestamp: 0,
    })),
  }
}

function replayOf(topic: string, from: number[], live: number[]) {
  const socket = connection()
  const sender = createFrameSender({ metrics: createMetricsRegistry(), publish: () => undefined })
  const replay = createReplay({ connection: socket, topic, from, live, sender })
  const frames = () => socket.sent.map((text) => rawEventFrame.parse(JSON.parse(text)))
  return { replay, frames }
}

describe('replay of missed raw events', () => {
  it('reads each partition from the cursor to the live position, and nothing where the cursor is ahead', () => {
    const { replay } = replayOf(EVENTS_RAW_TOPIC, [2, 9, 0], [5, 7, 1])
    expect([0, 1, 2, 3].map((p) => replay.startOffset('perp.events.v1', p))).toEqual([2, 9, 0, 0])
    expect(replay.isDone()).toBe(false)
  })

  it('sends the records in range with the replay’s own position as their cursors, then is done', () => {
    const { replay, frames } = replayOf(EVENTS_RAW_TOPIC, [2, 4], [4, 6])
    expect(replay.take(batch(0, 2, [opening(1, alice), opening(2, bob), opening(3, alice)]))).toBe(false)
    expect(replay.take(batch(1, 4, [marketListed(BTC, { block: 4 }), opening(5, bob)]))).toBe(true)
    expect(frames().map((f) => [f.type, f.cursor])).toEqual([
      ['position_opened', '1.3-4'],
      ['position_opened', '1.4-4'],
      ['market_listed', '1.4-5'],
      ['position_opened', '1.4-6'],
    ])
  })

  it('sends only the records of the path’s subject, but moves its position past every record', () => {
    const { replay, frames } = replayOf(positionsRawTopic(alice), [0], [3])
    expect(replay.take(batch(0, 0, [opening(1, bob), opening(2, alice), opening(3, bob)]))).toBe(true)
    expect(frames().map((f) => [f.type === 'position_opened' && f.data.user_address, f.cursor])).toEqual([[alice, '1.2']])
  })

  it('skips an unreadable record and a record the log holds twice', () => {
    const { replay, frames } = replayOf(EVENTS_RAW_TOPIC, [0], [4])
    expect(replay.take(batch(0, 0, [opening(1, alice), '{"not":"a record"}', opening(1, alice), opening(2, bob)]))).toBe(true)
    expect(frames().map((f) => f.cursor)).toEqual(['1.1', '1.4'])
  })

  it('is done with nothing to send when the cursor is at or past the live position', () => {
    expect(replayOf(EVENTS_RAW_TOPIC, [5, 7], [5, 6]).replay.isDone()).toBe(true)
  })
})
