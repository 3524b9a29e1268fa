// The Kafka log against a real broker (started once per run by test/support/kafka-global-setup.ts):
// the contract both backends share, then what only Kafka has. Records written through our log are
// checked with a plain kafkajs client, so the test does not trust the layer it is testing.
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs'
import type { KafkaMessage } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../test/support/free-port.ts'
import { kafkaBrokersOrSkip, uniqueTopic } from '../../test/support/kafka.ts'
import { silentLogger } from '../runtime/logger.ts'
import { createKafkaLog } from './kafka-log.ts'
import type { KafkaLog } from './kafka-log.ts'
import type { Log, OutgoingRecord, RecordBatch, StoredRecord } from './log.ts'
import { describeLogContract } from './log-contract.ts'
import type { LogBackend } from './log-contract.ts'
import { LogUnavailableError, UnknownTopicError } from './log-errors.ts'

const { brokers } = kafkaBrokersOrSkip()

function openLog(clientId: string, at: readonly string[] = brokers): KafkaLog {
  return createKafkaLog({ brokers: at, clientId, logger: silentLogger })
}

async function waitFor(condition: () => boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Kafka logs on the run's broker; the topics created through them are deleted by cleanup(), so a
 * long-lived broker (KAFKA_BROKERS) does not collect the contract's topics.
 */
async function kafkaBackend(): Promise<LogBackend> {
  const clientId = uniqueTopic('contract-client')
  const opened: Log[] = []
  const topics = new Set<string>()
  const open = (): Log => {
    const log = openLog(clientId)
    opened.push(log)
    return {
      ...log,
      ensureTopics: async (specs) => {
        for (const spec of specs) topics.add(spec.name)
        await log.ensureTopics(specs)
      },
    }
  }
  return {
    log: open(),
    reopen: async () => open(),
    cleanup: async () => {
      await Promise.all(opened.map((log) => log.close()))
      if (topics.size === 0) return
      const admin = new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      const existing = new Set(await admin.listTopics())
      await admin.deleteTopics({ topics: [...topics].filter((t) => existing.has(t)) })
      await admin.disconnect()
    },
  }
}

describe.skipIf(brokers.length === 0)('kafka backend', () => {
  describeLogContract('kafka', kafkaBackend)
})

describe('kafka log with no broker listening', () => {
  it('rejects ensureTopics and append with LogUnavailableError naming the brokers within 15 s', async () => {
    const unreachable = [`127.0.0.1:${await freePort()}`]
    const log = openLog('test-unreachable', unreachable)
    try {
      for (const call of [
        () => log.ensureTopics([{ name: 'never-created', partitions: 1 }]),
        () => log.append('never-created', [{ key: 'k', value: Buffer.from('v') }]),
      ]) {
        const started = Date.now()
        const error: unknown = await call().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(Date.now() - started).toBeLessThan(15_000)
        expect(error).toBeInstanceOf(LogUnavailableError)
        expect((error as LogUnavailableError).brokers).toEqual(unreachable)
        expect((error as LogUnavailableError).message).toContain(unreachable[0])
      }
    } finally {
      await log.close()
    }
  })
})

// What a record looks like on the broker, read without our layer.
interface RawRecord {
  readonly partition: number
  readonly offset: number
  readonly key: string
  readonly value: string
  readonly producerId: string
  readonly firstSequence: number
  readonly timestampType: number
}

// kafkajs's TimestampTypes.LOG_APPEND_TIME.
const LOG_APPEND_TIME = 1

// kafkajs keeps each record's batch header (producer id, sequence) on the message, untyped.
type MessageWithBatch = KafkaMessage & {
  readonly batchContext: { producerId: string; firstSequence: number; timestampType: number }
}

describe.skipIf(brokers.length === 0)('kafka log on a real broker', () => {
  let log: KafkaLog
  let raw: Kafka

  beforeAll(() => {
    log = openLog('test-kafka-log')
    raw = new Kafka({ clientId: 'test-raw', brokers: [...brokers], logLevel: logLevel.NOTHING })
  })
  afterAll(async () => {
    await log.close()
  })

  async function consumeAll(topic: string, count: number): Promise<StoredRecord[]> {
    const records: StoredRecord[] = []
    let allRead!: () => void
    const read = new Promise<void>((resolve) => (allRead = resolve))
    const consumer = log.consume({
      topics: [topic],
      groupId: uniqueTopic('reader'),
      from: () => 0,
      onBatch: async (batch) => {
        records.push(...batch.records)
        if (records.length >= count) allRead()
      },
    })
    await Promise.race([read, consumer.done])
    await consumer.stop()
    return records
  }

  async function readRaw(topic: string, count: number): Promise<RawRecord[]> {
    const consumer = raw.consumer({ groupId: uniqueTopic('raw-reader') })
    const records: RawRecord[] = []
    let allRead!: () => void
    const read = new Promise<void>((resolve) => (allRead = resolve))
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages as MessageWithBatch[]) {
          records.push({
            partition: batch.partition,
            offset: Number(message.offset),
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            producerId: message.batchContext.producerId,
            firstSequence: message.batchContext.firstSequence,
            timestampType: message.batchContext.timestampType,
          })
        }
        if (records.length >= count) allRead()
      },
    })
    await read
    await consumer.disconnect()
    return records
  }

  it('returns from append the partition and offset at which a plain consumer reads each record', async () => {
    const topic = uniqueTopic('offsets')
    await log.ensureTopics([{ name: topic, partitions: 3 }])
    const batch = (call: number, size: number): OutgoingRecord[] =>
      Array.from({ length: size }, (_, i) => ({
        key: `market-${i % 7}`,
        value: Buffer.from(`${call}:${i}`),
        // Every 50th record overrides its key's partition, as reorg records do.
        ...(i % 50 === 0 ? { partition: 2 } : {}),
      }))
    const first = await log.append(topic, batch(0, 1500))
    const second = await log.append(topic, batch(1, 2500))
    const onBroker = new Map((await readRaw(topic, 4000)).map((r) => [r.value, `${r.partition}@${r.offset}`]))
    const returned = [...first.map((p, i) => [`0:${i}`, p] as const), ...second.map((p, i) => [`1:${i}`, p] as const)]
    expect(onBroker.size).toBe(4000)
    for (const [value, position] of returned) expect(onBroker.get(value)).toBe(`${position.partition}@${position.offset}`)
    expect(await log.endOffsets(topic)).toEqual([0, 1, 2].map((p) => returned.filter(([, q]) => q.partition === p).length))
  })

  it('places each key in the partition a plain kafkajs producer (Java-compatible partitioner) picks', async () => {
    const topic = uniqueTopic('partitioning')
    await log.ensureTopics([{ name: topic, partitions: 5 }])
    const keys = ['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp', ...Array.from({ length: 40 }, (_, i) => `key-${i}`)]
    const producer = raw.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    const sent = await Promise.all(keys.map((key) => producer.send({ topic, messages: [{ key, value: 'plain' }] })))
    await producer.disconnect()
    const ours = await log.append(topic, keys.map((key) => ({ key, value: Buffer.from('ours') })))
    expect(ours.map((p) => p.partition)).toEqual(sent.map((metadata) => metadata[0]?.partition))
  })

  it('writes through an idempotent producer: each batch carries a producer id and consecutive sequence numbers', async () => {
    const topic = uniqueTopic('idempotent')
    await log.ensureTopics([{ name: topic, partitions: 1 }])
    await log.append(topic, Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: Buffer.from(`a${i}`) })))
    await log.append(topic, Array.from({ length: 20 }, (_, i) => ({ key: 'k', value: Buffer.from(`b${i}`) })))
    const records = await readRaw(topic, 50)
    const producerIds = new Set(records.map((r) => r.producerId))
    expect(producerIds.size).toBe(1)
    expect(Number([...producerIds][0])).toBeGreaterThanOrEqual(0)
    expect(records.find((r) => r.value === 'a0')?.firstSequence).toBe(0)
    expect(records.find((r) => r.value === 'b0')?.firstSequence).toBe(30)
  })

  it('creates topics with cleanup.policy=compact when compacted, and stamps records with the log-append time', async () => {
    const compacted = uniqueTopic('compacted')
    const plain = uniqueTopic('plain')
    await log.ensureTopics([
      { name: compacted, partitions: 1, compacted: true },
      { name: plain, partitions: 1 },
    ])
    const admin = raw.admin()
    await admin.connect()
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [compacted, plain].map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
    })
    await admin.disconnect()
    const config = (topic: string, name: string): string | undefined =>
      described.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === name)?.configValue
    expect(config(compacted, 'cleanup.policy')).toBe('compact')
    expect(config(plain, 'cleanup.policy')).toBe('delete')
    expect(config(plain, 'message.timestamp.type')).toBe('LogAppendTime')
    const before = Date.now()
    await log.append(plain, [{ key: 'k', value: Buffer.from('v') }])
    const after = Date.now()
    const [onBroker] = await readRaw(plain, 1)
    expect(onBroker?.timestampType).toBe(LOG_APPEND_TIME)
    const [consumed] = await consumeAll(plain, 1)
    // The broker runs on this machine, so its clock is ours.
    expect(consumed?.timestamp).toBeGreaterThanOrEqual(before - 1000)
    expect(consumed?.timestamp).toBeLessThanOrEqual(after + 1000)
  })

  it('keeps each partition where it was across a rebalance, so a consumer never sees an offset twice', async () => {
    const topic = uniqueTopic('rebalance')
    const groupId = uniqueTopic('shared-group')
    await log.ensureTopics([{ name: topic, partitions: 2 }])
    const fill = (tag: string): OutgoingRecord[] =>
      [0, 1].flatMap((partition) => Array.from({ length: 50 }, (_, i) => ({ key: 'k', value: Buffer.from(`${tag}${i}`), partition })))
    await log.append(topic, fill('a'))
    const seenByFirst: string[] = []
    const seenBySecond: string[] = []
    const collect = (into: string[]) => async (batch: RecordBatch) => {
      for (const r of batch.records) into.push(`${r.partition}@${r.offset}`)
    }
    const first = log.consume({ topics: [topic], groupId, from: () => 0, onBatch: collect(seenByFirst) })
    await waitFor(() => seenByFirst.length >= 100)
    // A second member of the same group takes one partition away; the first rejoins the group.
    const second = log.consume({ topics: [topic], groupId, from: () => 0, onBatch: collect(seenBySecond) })
    await waitFor(() => seenBySecond.length > 0)
    await log.append(topic, fill('b'))
    await waitFor(() => new Set([...seenByFirst, ...seenBySecond].filter((p) => Number(p.split('@')[1]) >= 50)).size >= 100)
    await Promise.all([first.stop(), second.stop()])
    expect(new Set(seenByFirst).size).toBe(seenByFirst.length)
    expect(new Set(seenBySecond).size).toBe(seenBySecond.length)
    // The second member started its partition from its own from(): offset 0.
    expect(seenBySecond.filter((p) => p.endsWith('@0'))).toHaveLength(1)
  })

  it('reports a missing topic as undefined partitions and rejects its endOffsets and appends with UnknownTopicError', async () => {
    const missing = uniqueTopic('missing')
    expect(await log.partitionCount(missing)).toBeUndefined()
    await expect(log.endOffsets(missing)).rejects.toBeInstanceOf(UnknownTopicError)
    await expect(log.append(missing, [{ key: 'k', value: Buffer.from('v') }])).rejects.toBeInstanceOf(UnknownTopicError)
  })
})
