// The pure parts of the Kafka log: where records go, how an append is cut into sends, which offsets
// they get and how a retried append resumes, and how kafkajs's errors become the log's errors. The
// broker-facing behaviour is in kafka-log.int.test.ts.
import kafkajs from 'kafkajs'
import type { Message, RecordMetadata } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import type { AppendedPosition, OutgoingRecord } from './log.ts'
import { LogUnavailableError, UnknownPartitionError, UnknownTopicError } from './log-errors.ts'
import { partitionForKey } from './partitioner.ts'
import { createChunkedAppender, planAppend, sameRecords } from './kafka-chunked-append.ts'
import type { SendMessages } from './kafka-chunked-append.ts'
import { translateKafkaError } from './kafka-client.ts'

const brokers = ['10.0.0.1:9092', '10.0.0.2:9092']

const limits = { recordsPerPartition: 3, bytesPerPartition: 1024 * 1024 }

function values(messages: readonly Message[]): string[] {
  return messages.map((m) => String(m.value))
}

function onPartition(partition: number, count: number, tag = 'v'): OutgoingRecord[] {
  return Array.from({ length: count }, (_, i) => ({ key: 'k', value: Buffer.from(`${tag}${partition}.${i}`), partition }))
}

/**
 * A stand-in for the broker behind SendMessages: appends each send's records per partition and
 * answers with each partition's base offset, or rejects (taking nothing) when `fails` says so.
 */
function fakeBroker(fails: (call: number) => boolean = () => false) {
  const partitions = new Map<number, string[]>()
  let calls = 0
  let inFlight = 0
  let maxInFlight = 0
  const send: SendMessages = async (topic, messages) => {
    const call = ++calls
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    await new Promise((resolve) => setTimeout(resolve, 1))
    inFlight--
    if (fails(call)) throw new Error(`send ${call} failed`)
    const metadata: RecordMetadata[] = []
    for (const partition of new Set(messages.map((m) => m.partition ?? -1))) {
      const stored = partitions.get(partition) ?? []
      metadata.push({ topicName: topic, partition, errorCode: 0, baseOffset: String(stored.length) })
      for (const m of messages) if (m.partition === partition) stored.push(String(m.value))
      partitions.set(partition, stored)
    }
    return metadata
  }
  return { send, partitions, calls: () => calls, maxInFlight: () => maxInFlight }
}

describe('planAppend', () => {
  it('routes each record to its key partition unless it names one, keeping the call order within a partition', () => {
    const records = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((key) => ({ key, value: Buffer.from(key) }))
    const plan = planAppend('t', [...records, { key: 'a', value: Buffer.from('x'), partition: 2 }], 3, limits)
    const messages = plan.sends.flatMap((send) => send.messages)
    const expected = [...records.map((r) => ({ v: r.key, p: partitionForKey(r.key, 3) })), { v: 'x', p: 2 }]
    for (const partition of [0, 1, 2]) {
      expect(values(messages.filter((m) => m.partition === partition))).toEqual(expected.filter((e) => e.p === partition).map((e) => e.v))
    }
  })

  it('cuts an append into sends of at most recordsPerPartition records of each partition, in partition order', () => {
    const records = [...onPartition(0, 7), ...onPartition(1, 2), ...onPartition(2, 3)]
    const plan = planAppend('t', records, 3, limits)
    expect(plan.sends.map((send) => values(send.messages))).toEqual([
      ['v0.0', 'v0.1', 'v0.2', 'v1.0', 'v1.1', 'v2.0', 'v2.1', 'v2.2'],
      ['v0.3', 'v0.4', 'v0.5'],
      ['v0.6'],
    ])
  })

  it('sends an append within the limits as one send, exactly as given', () => {
    const records = [...onPartition(1, 2), ...onPartition(0, 3)]
    const plan = planAppend('t', records, 2, limits)
    expect(plan.sends).toHaveLength(1)
    expect(plan.sends[0]?.messages).toEqual([...records.slice(2), ...records.slice(0, 2)])
  })

  it('starts a new send for a partition before its bytes pass bytesPerPartition, and sends a larger record alone', () => {
    const big = (tag: string, size: number): OutgoingRecord => ({ key: tag, value: Buffer.alloc(size, tag), partition: 0 })
    const records = [big('a', 400), big('b', 400), big('c', 400), big('d', 2000), big('e', 10)]
    const plan = planAppend('t', records, 1, { recordsPerPartition: 100, bytesPerPartition: 1000 })
    expect(plan.sends.map((send) => send.messages.map((m) => String(m.key)))).toEqual([['a', 'b'], ['c'], ['d'], ['e']])
  })

  it("gives each record its own send's base offset for its partition plus its index among that send's records of the partition", () => {
    const records = [0, 1, 0, 0, 1, 2, 0].map((partition, i) => ({ key: 'k', value: Buffer.from(String(i)), partition }))
    const plan = planAppend('t', records, 3, limits)
    const positions = new Array<AppendedPosition>(records.length)
    plan.sends[0]?.place(
      [
        { topicName: 't', partition: 1, errorCode: 0, baseOffset: '40' },
        { topicName: 't', partition: 0, errorCode: 0, baseOffset: '7' },
        { topicName: 't', partition: 2, errorCode: 0, baseOffset: '0' },
      ],
      positions,
    )
    // Another producer wrote to partition 0 between the two sends.
    plan.sends[1]?.place([{ topicName: 't', partition: 0, errorCode: 0, baseOffset: '12' }], positions)
    expect(positions).toEqual([
      { partition: 0, offset: 7 },
      { partition: 1, offset: 40 },
      { partition: 0, offset: 8 },
      { partition: 0, offset: 9 },
      { partition: 1, offset: 41 },
      { partition: 2, offset: 0 },
      { partition: 0, offset: 12 },
    ])
  })

  it('rejects a record naming a partition the topic does not have with UnknownPartitionError', () => {
    const plan = (): unknown => planAppend('t', [{ key: 'k', value: Buffer.from('v'), partition: 3 }], 3)
    expect(plan).toThrow(UnknownPartitionError)
    expect(plan).toThrow('topic t has no partition 3 (it has 3)')
  })

  it('refuses to invent offsets when Kafka reported no batch for a partition', () => {
    const plan = planAppend('t', [{ key: 'k', value: Buffer.from('v'), partition: 1 }], 2)
    const positions: AppendedPosition[] = []
    expect(() => plan.sends[0]?.place([{ topicName: 't', partition: 0, errorCode: 0, baseOffset: '3' }], positions)).toThrow('t/1')
  })
})

describe('createChunkedAppender', () => {
  it('resolves each append with every record position once all its sends are acknowledged, one send at a time', async () => {
    const broker = fakeBroker()
    const appender = createChunkedAppender(broker.send, limits)
    const appends = [onPartition(0, 8, 'a'), onPartition(0, 2, 'b'), [...onPartition(1, 4, 'c'), ...onPartition(0, 1, 'c')]]
    const positions = await Promise.all(appends.map((records) => appender.append('t', records, 2)))
    expect(broker.maxInFlight()).toBe(1)
    expect(broker.calls()).toBe(3 + 1 + 2)
    expect(positions[0]).toEqual(Array.from({ length: 8 }, (_, offset) => ({ partition: 0, offset })))
    expect(positions[1]).toEqual([8, 9].map((offset) => ({ partition: 0, offset })))
    expect(positions[2]).toEqual([...[0, 1, 2, 3].map((offset) => ({ partition: 1, offset })), { partition: 0, offset: 10 }])
  })

  it('resumes the retry of a rejected append at the send that failed, so no acknowledged record is written twice', async () => {
    const broker = fakeBroker((call) => call === 3)
    const appender = createChunkedAppender(broker.send, limits)
    const records = onPartition(0, 10)
    await expect(appender.append('t', records, 1)).rejects.toThrow('send 3 failed')
    expect(broker.partitions.get(0)).toHaveLength(6)
    // The caller retries with equal records, rebuilt rather than the same objects.
    const retry = records.map((r) => ({ ...r, value: Buffer.from(r.value) }))
    const positions = await appender.append('t', retry, 1)
    expect(broker.partitions.get(0)).toEqual(records.map((r) => String(r.value)))
    expect(positions).toEqual(Array.from({ length: 10 }, (_, offset) => ({ partition: 0, offset })))
    expect(broker.calls()).toBe(3 + 2)
  })

  it('starts an append that is not the retry of the rejected one from its first send', async () => {
    const broker = fakeBroker((call) => call === 2)
    const appender = createChunkedAppender(broker.send, limits)
    const records = onPartition(0, 6)
    await expect(appender.append('t', records, 1)).rejects.toThrow('send 2 failed')
    const other = records.map((r, i) => (i === 5 ? { ...r, value: Buffer.from('changed') } : r))
    expect(await appender.append('t', other, 1)).toEqual([3, 4, 5, 6, 7, 8].map((offset) => ({ partition: 0, offset })))
    expect(await appender.append('u', [{ key: 'k', value: Buffer.from('v') }], 1)).toEqual([{ partition: 0, offset: 9 }])
  })
})

describe('sameRecords', () => {
  it('tells a retry (equal keys, values, headers and partitions) from a different append', () => {
    const base: OutgoingRecord[] = [{ key: 'k', value: Buffer.from('v'), headers: { a: '1' } }, { key: 'j', value: Buffer.from('w'), partition: 1 }]
    const copy = base.map((r) => ({ ...r, value: Buffer.from(r.value), ...(r.headers ? { headers: { ...r.headers } } : {}) }))
    expect(sameRecords(base, copy)).toBe(true)
    expect(sameRecords(base, base.slice(0, 1))).toBe(false)
    expect(sameRecords(base, [{ ...base[0]!, headers: { a: '2' } }, base[1]!])).toBe(false)
    expect(sameRecords(base, [{ ...base[0]!, headers: { a: '1', b: '1' } }, base[1]!])).toBe(false)
    expect(sameRecords(base, [base[0]!, { ...base[1]!, partition: 0 }])).toBe(false)
    expect(sameRecords(base, [base[0]!, { ...base[1]!, value: Buffer.from('x') }])).toBe(false)
    expect(sameRecords(base, [{ ...base[0]!, key: 'K' }, base[1]!])).toBe(false)
  })
})

describe('translateKafkaError', () => {
  it('turns a connection failure, even wrapped by the retrier, into LogUnavailableError naming the brokers', () => {
    const refused = new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.0.0.1:9092')
    const retried = new kafkajs.KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 4, retryTime: 3000 })
    const translated = translateKafkaError(retried, brokers)
    expect(translated).toBeInstanceOf(LogUnavailableError)
    expect((translated as LogUnavailableError).brokers).toEqual(brokers)
    expect((translated as LogUnavailableError).message).toContain('10.0.0.1:9092, 10.0.0.2:9092')
    expect((translated as LogUnavailableError).cause).toBe(retried)
  })

  it('turns an unknown-topic protocol error into UnknownTopicError for the named topic', () => {
    const decoded = Object.assign(new Error('This server does not host this topic-partition'), {
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
      code: 3,
      retriable: true,
    })
    const unknown = new kafkajs.KafkaJSProtocolError(decoded)
    const retried = new kafkajs.KafkaJSNumberOfRetriesExceeded(unknown, { retryCount: 4, retryTime: 3000 })
    const translated = translateKafkaError(retried, brokers, 'perp.events.v1')
    expect(translated).toBeInstanceOf(UnknownTopicError)
    expect((translated as UnknownTopicError).topic).toBe('perp.events.v1')
  })

  it('passes errors that are not kafkajs errors through untouched', () => {
    const own = new Error('projection failed')
    expect(translateKafkaError(own, brokers)).toBe(own)
    const already = new LogUnavailableError(brokers)
    expect(translateKafkaError(already, brokers)).toBe(already)
  })
})
