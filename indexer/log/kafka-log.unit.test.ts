// The pure parts of the Kafka log: where records go and which offsets they get, and how kafkajs's
// errors become the log's errors. The broker-facing behaviour is in kafka-log.int.test.ts.
import kafkajs from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { LogUnavailableError, UnknownPartitionError, UnknownTopicError } from './log-errors.ts'
import { partitionForKey } from './partitioner.ts'
import { placeRecords } from './kafka-log.ts'
import { translateKafkaError } from './kafka-client.ts'

const brokers = ['10.0.0.1:9092', '10.0.0.2:9092']

describe('placeRecords', () => {
  it('routes each record to its key partition unless it names one, keeping the call order within a partition', () => {
    const records = ['a', 'b', 'c', 'd'].map((key) => ({ key, value: Buffer.from(key) }))
    const placed = placeRecords('t', [...records, { key: 'a', value: Buffer.from('x'), partition: 2 }], 3)
    expect(placed.messages.map((m) => m.partition)).toEqual([...records.map((r) => partitionForKey(r.key, 3)), 2])
    expect(placed.messages.map((m) => m.value)).toEqual([...records.map((r) => r.value), Buffer.from('x')])
  })

  it("gives each record its partition batch's base offset plus its index among that partition's records", () => {
    const records = [0, 1, 0, 0, 1, 2].map((partition, i) => ({ key: 'k', value: Buffer.from(String(i)), partition }))
    const placed = placeRecords('t', records, 3)
    const metadata = [
      { topicName: 't', partition: 1, errorCode: 0, baseOffset: '40' },
      { topicName: 't', partition: 0, errorCode: 0, baseOffset: '7' },
      { topicName: 't', partition: 2, errorCode: 0, baseOffset: '0' },
    ]
    expect(placed.positions(metadata)).toEqual([
      { partition: 0, offset: 7 },
      { partition: 1, offset: 40 },
      { partition: 0, offset: 8 },
      { partition: 0, offset: 9 },
      { partition: 1, offset: 41 },
      { partition: 2, offset: 0 },
    ])
  })

  it('rejects a record naming a partition the topic does not have with UnknownPartitionError', () => {
    const place = (): unknown => placeRecords('t', [{ key: 'k', value: Buffer.from('v'), partition: 3 }], 3)
    expect(place).toThrow(UnknownPartitionError)
    expect(place).toThrow('topic t has no partition 3 (it has 3)')
  })

  it('refuses to invent offsets when Kafka reported no batch for a partition', () => {
    const placed = placeRecords('t', [{ key: 'k', value: Buffer.from('v'), partition: 1 }], 2)
    expect(() => placed.positions([{ topicName: 't', partition: 0, errorCode: 0, baseOffset: '3' }])).toThrow('t/1')
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
