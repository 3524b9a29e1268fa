// The contract every log backend passes: Kafka's semantics as the Log interface states them. Each
// backend's integration test runs it against a real instance (a SQLite file, a Kafka broker).
// Topic and group names carry a random suffix, so one broker serves every test and every run.

import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AppendedPosition, ConsumeOptions, Log, OutgoingRecord, RecordBatch, StoredRecord } from './log.ts'
import { LogClosedError, TopicMismatchError } from './log-errors.ts'
import { partitionForKey } from './partitioner.ts'

export interface LogBackend {
  readonly log: Log
  /** Opens the same storage again (the test closes `log` first). */
  readonly reopen: () => Promise<Log>
  /** Closes every log it handed out and removes what the backend created. */
  readonly cleanup: () => Promise<void>
}

const TEST_TIMEOUT_MS = 60_000
const WAIT_MS = 45_000
const SENTINEL_KEY = 'contract-sentinel'

function uniqueName(label: string): string {
  return `contract-${label}-${randomUUID().slice(0, 8)}`
}

interface Collected {
  readonly batches: RecordBatch[]
  readonly records: StoredRecord[]
}

/** Consumes until `isDone` holds for what arrived so far, then stops the consumer. */
async function consumeUntil(
  log: Log,
  options: Pick<ConsumeOptions, 'topics' | 'from'> & { readonly maxBatchRecords?: number },
  isDone: (collected: Collected) => boolean,
): Promise<Collected> {
  const collected: Collected = { batches: [], records: [] }
  let reached: () => void = () => undefined
  const reachedPromise = new Promise<void>((resolve) => (reached = resolve))
  const consumer = log.consume({
    ...options,
    groupId: uniqueName('group'),
    onBatch: async (batch) => {
      collected.batches.push(batch)
      collected.records.push(...batch.records)
      if (isDone(collected)) reached()
    },
  })
  // The losers of the race settle later (the timer fires, stop() resolves `done`); they are
  // handled here so that a finished race leaves no unhandled rejection behind.
  const timer = new AbortController()
  const timeout = sleep(WAIT_MS, undefined, { signal: timer.signal }).then(() => {
    throw new Error(`consumer did not finish within ${WAIT_MS} ms (${collected.records.length} records)`)
  })
  const endedEarly = consumer.done.then(() => {
    throw new Error('consumer ended before the expected records arrived')
  })
  timeout.catch(() => undefined)
  endedEarly.catch(() => undefined)
  try {
    await Promise.race([reachedPromise, timeout, endedEarly])
  } finally {
    timer.abort()
    await consumer.stop()
  }
  return collected
}

/** Appends one sentinel to every partition, to mark the end of what a test expects. */
async function appendSentinels(log: Log, topic: string, partitions: number): Promise<void> {
  const sentinels = Array.from({ length: partitions }, (_, partition) => ({
    key: SENTINEL_KEY,
    value: Buffer.from('end'),
    partition,
  }))
  await log.append(topic, sentinels)
}

/** Consumes until the sentinel of every partition arrived; returns the records before them. */
async function consumeThroughSentinels(
  log: Log,
  topic: string,
  partitions: number,
  from: (partition: number) => number,
): Promise<StoredRecord[]> {
  const { records } = await consumeUntil(log, { topics: [topic], from: (_, partition) => from(partition) }, (c) =>
    c.records.filter((record) => record.key === SENTINEL_KEY).length >= partitions,
  )
  return records.filter((record) => record.key !== SENTINEL_KEY)
}

function byPartition(records: readonly StoredRecord[], partitions: number): StoredRecord[][] {
  const lists = Array.from({ length: partitions }, (): StoredRecord[] => [])
  for (const record of records) lists[record.partition]!.push(record)
  return lists
}

interface Comparable {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string
  /** Short values as text, long ones as their digest: deep equality over a large Buffer is slow. */
  readonly value: string
  readonly headers: Record<string, string>
}

function valueText(value: Buffer): string {
  return value.length <= 256
    ? `hex:${value.toString('hex')}`
    : `sha256:${createHash('sha256').update(value).digest('hex')} (${value.length} bytes)`
}

function byPosition(a: Comparable, b: Comparable): number {
  return a.partition - b.partition || a.offset - b.offset
}

/** What the stored records must equal: each outgoing record at the position append returned. */
function expectedAt(
  topic: string,
  records: readonly OutgoingRecord[],
  positions: readonly AppendedPosition[],
): Comparable[] {
  return records
    .map((record, i) => ({
      topic,
      partition: positions[i]!.partition,
      offset: positions[i]!.offset,
      key: record.key,
      value: valueText(record.value),
      headers: { ...record.headers },
    }))
    .sort(byPosition)
}

function comparable(records: readonly StoredRecord[]): Comparable[] {
  return records
    .map(({ topic, partition, offset, key, value, headers }) => ({
      topic,
      partition,
      offset,
      key,
      value: valueText(value),
      headers: { ...headers },
    }))
    .sort(byPosition)
}

function record(key: string, text: string, extra: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return { key, value: Buffer.from(text), ...extra }
}

export function describeLogContract(backendName: string, factory: () => Promise<LogBackend>): void {
  describe(`log contract: ${backendName}`, () => {
    let backend: LogBackend
    let log: Log

    beforeEach(async () => {
      backend = await factory()
      log = backend.log
    })

    afterEach(async () => {
      await backend.cleanup()
    })

    it('keeps the records of one key in append order, all in the partition the key hashes to', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('same-key')
      await log.ensureTopics([{ name: topic, partitions: 4 }])
      const keys = ['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp']
      const positions: AppendedPosition[] = []
      for (let call = 0; call < 3; call++) {
        const records = Array.from({ length: 12 }, (_, i) => record(keys[i % 3]!, `${call}-${i}`))
        positions.push(...(await log.append(topic, records)))
      }
      positions.forEach((position, i) => expect(position.partition).toBe(partitionForKey(keys[(i % 12) % 3]!, 4)))

      const received = await consumeUntil(log, { topics: [topic], from: () => 0 }, (c) => c.records.length >= 36)
      for (const key of keys) {
        const ofKey = received.records.filter((r) => r.key === key)
        expect(new Set(ofKey.map((r) => r.partition))).toEqual(new Set([partitionForKey(key, 4)]))
        const expected = [0, 1, 2].flatMap((call) =>
          Array.from({ length: 12 }, (_, i) => i).filter((i) => keys[i % 3] === key).map((i) => `${call}-${i}`),
        )
        expect(ofKey.map((r) => r.value.toString())).toEqual(expected)
      }
    })

    it('spreads different keys over the partitions the murmur2 partitioner picks', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('spread')
      await log.ensureTopics([{ name: topic, partitions: 6 }])
      const keys = Array.from({ length: 200 }, (_, i) => `market-${i}`)
      const positions = await log.append(topic, keys.map((key) => record(key, key)))
      expect(positions.map((p) => p.partition)).toEqual(keys.map((key) => partitionForKey(key, 6)))
      expect(new Set(positions.map((p) => p.partition)).size).toBe(6)
    })

    it('numbers offsets densely from 0 per partition, returns them from append and reports the next in endOffsets', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('offsets')
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      expect(await log.endOffsets(topic)).toEqual([0, 0, 0])
      expect(await log.append(topic, [])).toEqual([])
      const first = await log.append(topic, Array.from({ length: 10 }, (_, i) => record('k', `a${i}`, { partition: i % 2 })))
      const second = await log.append(topic, Array.from({ length: 5 }, (_, i) => record('k', `b${i}`, { partition: 0 })))
      expect(first).toEqual(Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, offset: Math.floor(i / 2) })))
      expect(second).toEqual(Array.from({ length: 5 }, (_, i) => ({ partition: 0, offset: 5 + i })))
      expect(await log.endOffsets(topic)).toEqual([10, 5, 0])
    })

    it('hands a consumer started from given offsets exactly the records from there on', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('from')
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      for (let partition = 0; partition < 3; partition++) {
        await log.append(topic, Array.from({ length: 10 }, (_, i) => record(`k${i}`, `${partition}:${i}`, { partition })))
      }
      await appendSentinels(log, topic, 3)
      const starts = [0, 4, 10]
      const received = byPartition(await consumeThroughSentinels(log, topic, 3, (p) => starts[p]!), 3)
      expect(received.map((list) => list.map((r) => r.offset))).toEqual([
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [4, 5, 6, 7, 8, 9],
        [],
      ])
      expect(received[1]!.map((r) => r.value.toString())).toEqual([4, 5, 6, 7, 8, 9].map((i) => `1:${i}`))
    })

    it('resumes a consumer from its stored offsets after the log is closed and reopened, losing and repeating nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('resume')
      await log.ensureTopics([{ name: topic, partitions: 2 }])
      await log.append(topic, Array.from({ length: 8 }, (_, i) => record(`k${i}`, `before-${i}`)))
      const firstRun = await consumeUntil(log, { topics: [topic], from: () => 0 }, (c) => c.records.length >= 8)
      const stored = [0, 1].map((p) => Math.max(-1, ...firstRun.records.filter((r) => r.partition === p).map((r) => r.offset)) + 1)
      const beforeClose = Array.from({ length: 6 }, (_, i) => record(`k${i}`, `unread-${i}`))
      const beforePositions = await log.append(topic, beforeClose)
      await log.close()

      const reopened = await backend.reopen()
      const afterOpen = Array.from({ length: 6 }, (_, i) => record(`k${i}`, `after-${i}`))
      const afterPositions = await reopened.append(topic, afterOpen)
      await appendSentinels(reopened, topic, 2)
      const resumed = await consumeThroughSentinels(reopened, topic, 2, (p) => stored[p]!)
      expect(comparable(resumed)).toEqual(
        expectedAt(topic, [...beforeClose, ...afterOpen], [...beforePositions, ...afterPositions]),
      )
    })

    it('appends a batch of 10,000 records in one call and reads every key, value and header back intact', { timeout: 2 * TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('bulk')
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      const records = Array.from({ length: 10_000 }, (_, i) =>
        record(`key-${i % 97}`, `value-${i}-${randomBytes(8).toString('hex')}`, {
          headers: i % 3 === 0 ? {} : { index: String(i), 'record-type': 'bulk' },
        }),
      )
      const before = Date.now()
      const positions = await log.append(topic, records)
      expect(positions).toHaveLength(10_000)
      const received = await consumeUntil(log, { topics: [topic], from: () => 0 }, (c) => c.records.length >= 10_000)
      expect(comparable(received.records)).toEqual(expectedAt(topic, records, positions))
      for (const r of received.records) expect(Math.abs(r.timestamp - before)).toBeLessThan(5 * 60_000)
    })

    // 3 MiB: more than a Kafka consumer asks of a partition per fetch, which must not stall it.
    it('round-trips a 3 MiB value byte for byte', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('large')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      const large = randomBytes(3 * 1024 * 1024)
      const records = [record('big', ''), { key: 'big', value: large }, record('big', 'after')]
      const positions = await log.append(topic, records)
      const received = await consumeUntil(log, { topics: [topic], from: () => 0 }, (c) => c.records.length >= 3)
      expect(received.records[1]!.value.equals(large)).toBe(true)
      expect(comparable(received.records)).toEqual(expectedAt(topic, records, positions))
    })

    it('delivers to a consumer started first every record of 20 concurrent appends, in partition order, and nothing else', { timeout: 2 * TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('concurrent')
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      const consuming = consumeThroughSentinels(log, topic, 3, () => 0)
      const calls = Array.from({ length: 20 }, (_, call) =>
        Array.from({ length: 1 + ((call * 7) % 25) }, (_, i) => record(`market-${(call + i) % 5}`, `${call}-${i}`)),
      )
      const positions = await Promise.all(
        calls.map(async (records, call) => {
          await sleep(call * 5)
          return log.append(topic, records)
        }),
      )
      await appendSentinels(log, topic, 3)
      const received = await consuming
      expect(comparable(received)).toEqual(expectedAt(topic, calls.flat(), positions.flat()))
      for (const list of byPartition(received, 3)) {
        expect(list.map((r) => r.offset)).toEqual(list.map((_, i) => i))
      }
      for (let call = 0; call < 20; call++) {
        for (const key of new Set(calls[call]!.map((r) => r.key))) {
          const values = received.filter((r) => r.key === key && r.value.toString().startsWith(`${call}-`))
          const expected = calls[call]!.filter((r) => r.key === key).map((r) => r.value.toString())
          expect(values.map((r) => r.value.toString())).toEqual(expected)
        }
      }
    })

    it('bounds every batch by maxBatchRecords and hands batches over in offset order', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('batches')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      await log.append(topic, Array.from({ length: 250 }, (_, i) => record('k', String(i))))
      const received = await consumeUntil(log, { topics: [topic], from: () => 0, maxBatchRecords: 100 }, (c) => c.records.length >= 250)
      for (const batch of received.batches) {
        expect(batch.records.length).toBeGreaterThan(0)
        expect(batch.records.length).toBeLessThanOrEqual(100)
        expect(batch.records.every((r) => r.topic === topic && r.partition === batch.partition)).toBe(true)
      }
      expect(received.records.map((r) => r.offset)).toEqual(Array.from({ length: 250 }, (_, i) => i))
    })

    it('creates topics idempotently and rejects a partition-count mismatch with TopicMismatchError', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('ensure')
      expect(await log.partitionCount(topic)).toBeUndefined()
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      await log.append(topic, [record('k', 'kept')])
      await log.ensureTopics([{ name: topic, partitions: 3 }])
      expect(await log.partitionCount(topic)).toBe(3)
      const mismatch = log.ensureTopics([{ name: topic, partitions: 5 }])
      await expect(mismatch).rejects.toBeInstanceOf(TopicMismatchError)
      await expect(mismatch).rejects.toMatchObject({ topic, expectedPartitions: 5, actualPartitions: 3 })
      expect(await log.partitionCount(topic)).toBe(3)
      expect((await log.endOffsets(topic)).reduce((a, b) => a + b, 0)).toBe(1)
    })

    it('round-trips headers, and lets an explicit partition override the key partition', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('headers')
      await log.ensureTopics([{ name: topic, partitions: 4 }])
      const keyPartition = partitionForKey('btc-usdc-perp', 4)
      const explicit = (keyPartition + 1) % 4
      const records = [
        record('btc-usdc-perp', 'a', { headers: { 'content-type': 'application/json', note: 'prix €, 価格 😀' } }),
        record('btc-usdc-perp', 'b', { headers: {}, partition: explicit }),
        record('btc-usdc-perp', 'c'),
      ]
      const positions = await log.append(topic, records)
      expect(positions.map((p) => p.partition)).toEqual([keyPartition, explicit, keyPartition])
      const received = await consumeUntil(log, { topics: [topic], from: () => 0 }, (c) => c.records.length >= 3)
      expect(comparable(received.records)).toEqual(expectedAt(topic, records, positions))
    })

    it('stops the consumer and rejects done with the error when onBatch rejects', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('failing')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      await log.append(topic, [record('k', '1'), record('k', '2')])
      const failure = new Error('projection failed')
      let calls = 0
      const consumer = log.consume({
        topics: [topic],
        groupId: uniqueName('group'),
        from: () => 0,
        maxBatchRecords: 1,
        onBatch: async () => {
          calls++
          throw failure
        },
      })
      await expect(consumer.done).rejects.toBe(failure)
      await log.append(topic, [record('k', '3')])
      await sleep(300)
      expect(calls).toBe(1)
      await consumer.stop()
    })

    it('asks from() once per partition, however long the partition stays empty', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('from-once')
      await log.ensureTopics([{ name: topic, partitions: 2 }])
      const asked = new Map<number, number>()
      const from = (_: string, partition: number): number => {
        asked.set(partition, (asked.get(partition) ?? 0) + 1)
        return 0
      }
      const consuming = consumeUntil(log, { topics: [topic], from }, (c) => c.records.length >= 2)
      await sleep(1000)
      await log.append(topic, [record('a', '1', { partition: 0 }), record('b', '2', { partition: 1 })])
      await consuming
      expect([...asked.entries()].sort()).toEqual([
        [0, 1],
        [1, 1],
      ])
    })

    it('resolves done once stop() ends a consumer waiting for records', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('stop')
      await log.ensureTopics([{ name: topic, partitions: 2 }])
      const consumer = log.consume({ topics: [topic], groupId: uniqueName('group'), from: () => 0, onBatch: async () => undefined })
      await sleep(200)
      await consumer.stop()
      await expect(consumer.done).resolves.toBeUndefined()
    })

    it('closes idempotently, and rejects an append after close with LogClosedError', { timeout: TEST_TIMEOUT_MS }, async () => {
      const topic = uniqueName('closed')
      await log.ensureTopics([{ name: topic, partitions: 1 }])
      await log.close()
      await log.close()
      await expect(log.append(topic, [record('k', 'late')])).rejects.toBeInstanceOf(LogClosedError)
    })
  })
}
