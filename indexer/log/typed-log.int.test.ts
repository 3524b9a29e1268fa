import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createEmbeddedLog, type EmbeddedLog } from './embedded-log.ts'
import type { LogConsumer, StoredRecord } from './log.ts'
import { CorruptRecordError, RecordRejectedError } from './log-errors.ts'
import { DEAD_LETTER_HEADERS, consumeRecords, createRecordWriter, type DeadLetter, type RecordCodec, type RecordShortcut, type TypedBatch } from './typed-log.ts'

const Trade = z.object({
  type: z.literal('trade'),
  v: z.literal(1),
  id: z.string(),
  market: z.string(),
  size: z.string().regex(/^\d+(\.\d+)?$/, 'not a decimal string'),
})
type Trade = z.infer<typeof Trade>

const trade = (id: string, market = 'btc-usdc-perp', size = '1.5'): Trade => ({ type: 'trade', v: 1, id, market, size })

describe('typed log', () => {
  let dir: string
  let log: EmbeddedLog
  const consumers: LogConsumer[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'typed-log-'))
    log = createEmbeddedLog({ path: join(dir, 'log.db'), pollIntervalMs: 20 })
    await log.ensureTopics([
      { name: 'trades', partitions: 3 },
      { name: 'trades.dead-letter', partitions: 1 },
    ])
  })

  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.stop()
    await log.close()
    await rm(dir, { recursive: true, force: true })
  })

  const writer = () => createRecordWriter({ log, topic: 'trades', schema: Trade, keyOf: (t: Trade) => t.market })

  /** Consumes `trades` until `isDone` holds for the typed batches received. */
  function consumeTrades(
    isDone: (batches: TypedBatch<Trade>[]) => boolean,
    extra: { deadLetterTopic?: string; onDeadLetter?: (letter: DeadLetter) => void; shortcut?: RecordShortcut<Trade> } = {},
  ): { consumer: LogConsumer; batches: TypedBatch<Trade>[]; finished: Promise<void> } {
    const batches: TypedBatch<Trade>[] = []
    let finish: () => void = () => undefined
    const finished = new Promise<void>((resolve) => (finish = resolve))
    const consumer = consumeRecords({
      log,
      topics: ['trades'],
      groupId: 'test',
      from: () => 0,
      schema: Trade,
      ...extra,
      onRecords: async (batch) => {
        batches.push(batch)
        if (isDone(batches)) finish()
      },
    })
    consumers.push(consumer)
    return { consumer, batches, finished }
  }

  async function rawRecords(topic: string, count: number): Promise<StoredRecord[]> {
    const records: StoredRecord[] = []
    let finish: () => void = () => undefined
    const finished = new Promise<void>((resolve) => (finish = resolve))
    const consumer = log.consume({
      topics: [topic],
      groupId: 'raw',
      from: () => 0,
      onBatch: async (batch) => {
        records.push(...batch.records)
        if (records.length >= count) finish()
      },
    })
    await finished
    await consumer.stop()
    return records
  }

  it('appends valid records as JSON keyed by keyOf, with no headers (type and v are in the value)', async () => {
    const positions = await writer().write([trade('t1'), trade('t2', 'eth-usdc-perp')])
    expect(positions).toHaveLength(2)
    const [first] = (await rawRecords('trades', 2)).filter((r) => r.key === 'btc-usdc-perp')
    expect(JSON.parse(first!.value.toString())).toEqual(trade('t1'))
    expect(first!.headers).toEqual({})
  })

  it('writes what a codec checks and stringifies instead of parsing with the schema, and rejects what its check refuses', async () => {
    const codec: RecordCodec<Trade> = {
      check: (t) => (t.size === '0' ? 'size: must not be zero' : undefined),
      stringify: (t) => `{"type":"trade","v":1,"id":"${t.id}","market":"${t.market}","size":"${t.size}","via":"codec"}`,
    }
    const fast = createRecordWriter({ log, topic: 'trades', schema: Trade, codec, keyOf: (t: Trade) => t.market })
    await fast.write([trade('t1')])
    const [stored] = await rawRecords('trades', 1)
    expect(JSON.parse(stored!.value.toString())).toEqual({ ...trade('t1'), via: 'codec' })
    await expect(fast.write([trade('t2'), trade('t3', 'eth-usdc-perp', '0')])).rejects.toMatchObject({
      name: 'RecordRejectedError',
      key: 'eth-usdc-perp',
      issue: 'size: must not be zero',
    })
    expect((await log.endOffsets('trades')).reduce((a, b) => a + b, 0)).toBe(1)
  })

  it('rejects a whole write when one record fails its schema, naming topic, key and issue, and writes none of it', async () => {
    const records = [trade('t1'), trade('t2', 'eth-usdc-perp', 'twelve'), trade('t3')]
    const write = writer().write(records)
    await expect(write).rejects.toBeInstanceOf(RecordRejectedError)
    await expect(write).rejects.toMatchObject({
      topic: 'trades',
      key: 'eth-usdc-perp',
      issue: 'size: not a decimal string',
    })
    expect(await log.endOffsets('trades')).toEqual([0, 0, 0])
  })

  it('rejects a record too malformed for keyOf with RecordRejectedError rather than a TypeError', async () => {
    const malformed = null as unknown as Trade
    await expect(writer().write([trade('t1'), malformed])).rejects.toMatchObject({
      name: 'RecordRejectedError',
      key: '(no key)',
    })
    expect(await log.endOffsets('trades')).toEqual([0, 0, 0])
  })

  it('hands decoded records with their offsets, keys and timestamps to onRecords', async () => {
    await writer().write([trade('t1'), trade('t2'), trade('t3', 'sol-usdc-perp')])
    const { batches, finished } = consumeTrades((b) => b.flatMap((x) => x.records).length >= 3)
    await finished
    const btc = batches.find((b) => b.records.some((r) => r.key === 'btc-usdc-perp'))!
    expect(btc.records.map((r) => [r.offset, r.value.id])).toEqual([
      [0, 't1'],
      [1, 't2'],
    ])
    expect(btc.nextOffset).toBe(2)
    expect(Math.abs(btc.records[0]!.timestamp - Date.now())).toBeLessThan(60_000)
  })

  it('stops with CorruptRecordError naming topic, partition and offset at a record that is not JSON, after delivering the records before it', async () => {
    const [{ partition } = { partition: -1 }] = await writer().write([trade('t1'), trade('t2')])
    await log.append('trades', [{ key: 'btc-usdc-perp', value: Buffer.from('{"type":"trade",') }])
    await writer().write([trade('t4')])
    const { consumer, batches } = consumeTrades(() => false)

    const failure = consumer.done
    await expect(failure).rejects.toBeInstanceOf(CorruptRecordError)
    await expect(failure).rejects.toMatchObject({ topic: 'trades', partition, offset: 2 })
    await expect(failure).rejects.toThrow(/trades\/\d+@2: invalid JSON/)
    const delivered = batches.filter((b) => b.partition === partition)
    expect(delivered.flatMap((b) => b.records.map((r) => r.value.id))).toEqual(['t1', 't2'])
    expect(delivered.at(-1)!.nextOffset).toBe(2)
  })

  it('stops at a record that is JSON but fails its schema, naming the failing field', async () => {
    await log.append('trades', [
      { key: 'btc-usdc-perp', value: Buffer.from(JSON.stringify({ ...trade('t1'), size: 7 })) },
    ])
    const { consumer, batches } = consumeTrades(() => false)
    await expect(consumer.done).rejects.toMatchObject({ offset: 0, issue: expect.stringMatching(/^size: /) })
    expect(batches).toEqual([])
  })

  it('takes a shortcut only as a yes: the records it leaves go through the schema, which still stops at a bad one with its issue', async () => {
    await writer().write([trade('t1'), trade('t2', 'btc-usdc-perp', '2')])
    await log.append('trades', [{ key: 'btc-usdc-perp', value: Buffer.from(JSON.stringify({ ...trade('t3'), size: 7 })) }])
    const seen: unknown[] = []
    const shortcut = (json: unknown): json is Trade => {
      seen.push(json)
      return typeof json === 'object' && json !== null && (json as Record<string, unknown>)['size'] === '1.5'
    }
    const { consumer, batches } = consumeTrades(() => false, { shortcut })

    await expect(consumer.done).rejects.toMatchObject({ offset: 2, issue: expect.stringMatching(/^size: /) })
    expect(batches.flatMap((b) => b.records.map((r) => r.value))).toEqual([trade('t1'), trade('t2', 'btc-usdc-perp', '2')])
    expect(seen).toHaveLength(3)
    // What the shortcut accepted is the parsed record itself; the schema's output is a copy.
    expect(batches[0]!.records[0]!.value).toBe(seen[0])
    expect(batches[0]!.records[1]!.value).not.toBe(seen[1])
  })

  it('moves a corrupt record to the dead-letter topic with its source position and error, and goes on', async () => {
    await writer().write([trade('t1')])
    const [bad] = await log.append('trades', [
      { key: 'btc-usdc-perp', value: Buffer.from('not json'), headers: { origin: 'test' } },
    ])
    await writer().write([trade('t3')])
    const letters: DeadLetter[] = []
    const { batches, finished } = consumeTrades((b) => b.flatMap((x) => x.records).length >= 2, {
      deadLetterTopic: 'trades.dead-letter',
      onDeadLetter: (letter) => letters.push(letter),
    })
    await finished

    expect(batches.flatMap((b) => b.records.map((r) => r.value.id))).toEqual(['t1', 't3'])
    expect(batches.at(-1)!.nextOffset).toBe(3)
    expect(letters).toHaveLength(1)
    expect(letters[0]!.error).toMatchObject({ topic: 'trades', partition: bad!.partition, offset: 1 })
    const [dead] = await rawRecords('trades.dead-letter', 1)
    expect(dead!.key).toBe('btc-usdc-perp')
    expect(dead!.value.toString()).toBe('not json')
    expect(dead!.headers).toMatchObject({
      origin: 'test',
      [DEAD_LETTER_HEADERS.topic]: 'trades',
      [DEAD_LETTER_HEADERS.partition]: String(bad!.partition),
      [DEAD_LETTER_HEADERS.offset]: '1',
      [DEAD_LETTER_HEADERS.error]: expect.stringContaining('invalid JSON'),
      [DEAD_LETTER_HEADERS.groupId]: 'test',
    })
  })

  it('reports nextOffset past a batch whose every record was dead-lettered', async () => {
    await log.append('trades', [
      { key: 'btc-usdc-perp', value: Buffer.from('[]') },
      { key: 'btc-usdc-perp', value: Buffer.from('{}') },
    ])
    const { batches, finished } = consumeTrades((b) => b.length >= 1, { deadLetterTopic: 'trades.dead-letter' })
    await finished
    expect(batches).toEqual([{ topic: 'trades', partition: expect.any(Number), records: [], nextOffset: 2 }])
    expect(await log.endOffsets('trades.dead-letter')).toEqual([2])
  })
})
