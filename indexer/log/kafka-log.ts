// The Kafka backend of the log (kafkajs). Records are placed by our own partitioner, not kafkajs's,
// so both backends put a key in the same partition; the producer is idempotent, so retrying a
// rejected append (as the Log contract asks) cannot duplicate records the broker already took.
//
// "Durable" is Kafka's notion here: an append resolves once every in-sync replica has the records
// (acks=-1). Kafka gets durability from replication rather than fsync, so on a single broker (the
// development setup) a power loss can still lose the last appends that the OS had not written out.
import { CompressionTypes } from 'kafkajs'
import type { Kafka, Message, Producer, RecordMetadata } from 'kafkajs'
import { createLogger } from '../runtime/logger.ts'
import type { Logger } from '../runtime/logger.ts'
import type { AppendedPosition, ConsumeOptions, Log, LogConsumer, OutgoingRecord } from './log.ts'
import { LogClosedError, UnknownPartitionError } from './log-errors.ts'
import { partitionForKey } from './partitioner.ts'
import { createKafkaClient, translateKafkaError } from './kafka-client.ts'
import { createKafkaTopicAdmin } from './kafka-admin.ts'
import type { KafkaTopicAdmin } from './kafka-admin.ts'
import { startKafkaConsumer } from './kafka-consumer.ts'

export interface KafkaLogOptions {
  /** host:port of one or more brokers. */
  readonly brokers: readonly string[]
  readonly clientId: string
  /** Receives kafkajs's own logs (its errors as warnings); default: warnings as JSON on stderr. */
  readonly logger?: Logger
  readonly connectionTimeoutMs?: number
  readonly requestTimeoutMs?: number
  /** Replicas per partition of the topics ensureTopics creates (default 1). */
  readonly replicationFactor?: number
}

export interface KafkaLog extends Log {
  readonly backend: 'kafka'
}

export function createKafkaLog(options: KafkaLogOptions): KafkaLog {
  const brokers = [...options.brokers]
  const logger = options.logger ?? createLogger({ level: 'warn', fields: { component: 'kafka-log' } })
  const kafka = createKafkaClient({ ...options, brokers, logger })
  const admin = createKafkaTopicAdmin({ kafka, brokers, replicationFactor: options.replicationFactor ?? 1 })
  const producer = createRecordProducer(kafka, admin, brokers)
  const consumers = new Set<LogConsumer>()
  let closing: Promise<void> | undefined

  function assertOpen(operation: string): void {
    if (closing !== undefined) throw new LogClosedError(operation)
  }

  function consume(consumeOptions: ConsumeOptions): LogConsumer {
    assertOpen('consume')
    const consumer = startKafkaConsumer({
      kafka,
      brokers,
      logger,
      options: consumeOptions,
      partitionCount: (topic) => admin.partitionCount(topic),
    })
    consumers.add(consumer)
    const forget = (): boolean => consumers.delete(consumer)
    void consumer.done.then(forget, forget)
    return consumer
  }

  async function close(): Promise<void> {
    closing ??= (async () => {
      await Promise.allSettled([...consumers].map((consumer) => consumer.stop()))
      await Promise.allSettled([producer.close(), admin.close()])
    })()
    await closing
  }

  return {
    backend: 'kafka',
    ensureTopics: async (topics) => {
      assertOpen('ensureTopics')
      await admin.ensureTopics(topics)
    },
    append: async (topic, records) => {
      assertOpen('append')
      return producer.append(topic, records)
    },
    endOffsets: async (topic) => {
      assertOpen('endOffsets')
      return admin.endOffsets(topic)
    },
    partitionCount: async (topic) => {
      assertOpen('partitionCount')
      return admin.partitionCount(topic)
    },
    consume,
    close,
  }
}

interface RecordProducer {
  append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendedPosition[]>
  close(): Promise<void>
}

function createRecordProducer(kafka: Kafka, admin: KafkaTopicAdmin, brokers: readonly string[]): RecordProducer {
  // Idempotence needs at most one request in flight per broker, and acks from all in-sync replicas.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  let connecting: Promise<Producer> | undefined

  function connected(): Promise<Producer> {
    connecting ??= producer.connect().then(
      () => producer,
      (error: unknown) => {
        connecting = undefined
        throw error
      },
    )
    return connecting
  }

  // One send at a time. When a produce request fails for some of its partitions, kafkajs rewinds
  // the sequence numbers of all of them, including those the broker took; a send started meanwhile
  // would reuse those numbers and be refused as out of order (or, with the same record count, be
  // taken for a duplicate and dropped). Kafkajs's own retry of the failed send, and the caller's
  // retry of a rejected append, resend the same batches with the same numbers, which the broker
  // recognises as duplicates and acknowledges with their original offsets.
  let previous: Promise<unknown> = Promise.resolve()

  async function send(topic: string, placed: PlacedRecords): Promise<AppendedPosition[]> {
    let metadata: RecordMetadata[]
    try {
      const client = await connected()
      metadata = await client.send({ topic, messages: placed.messages, acks: -1, compression: CompressionTypes.None })
    } catch (error) {
      throw translateKafkaError(error, brokers, topic)
    }
    return placed.positions(metadata)
  }

  async function append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendedPosition[]> {
    if (records.length === 0) return []
    const placed = placeRecords(topic, records, await admin.requirePartitionCount(topic))
    const sent = previous.then(() => send(topic, placed))
    previous = sent.catch(() => undefined)
    return sent
  }

  return {
    append,
    close: async () => {
      const wasConnected = connecting !== undefined
      connecting = undefined
      if (wasConnected) await producer.disconnect()
    },
  }
}

interface PlacedRecords {
  readonly messages: Message[]
  /** Each record's position, from the base offset Kafka gave each partition's batch. */
  positions(metadata: readonly RecordMetadata[]): AppendedPosition[]
}

/**
 * kafkajs sends one send() call as one produce request per broker holding one record batch per
 * partition, in the order given, and Kafka appends a batch contiguously: a record's offset is its
 * partition batch's base offset plus its index among that call's records of the same partition.
 */
export function placeRecords(topic: string, records: readonly OutgoingRecord[], partitions: number): PlacedRecords {
  const partitionOf = new Array<number>(records.length)
  const indexInPartition = new Array<number>(records.length)
  const counts = new Map<number, number>()
  const messages = records.map((record, i): Message => {
    const partition = record.partition ?? partitionForKey(record.key, partitions)
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
      throw new UnknownPartitionError(topic, partition, partitions)
    }
    const index = counts.get(partition) ?? 0
    counts.set(partition, index + 1)
    partitionOf[i] = partition
    indexInPartition[i] = index
    const message: Message = { key: record.key, value: record.value, partition }
    return record.headers === undefined ? message : { ...message, headers: { ...record.headers } }
  })
  return {
    messages,
    positions: (metadata) => {
      const base = new Map<number, number>()
      for (const m of metadata) if (m.topicName === topic) base.set(m.partition, Number(m.baseOffset))
      return records.map((_, i) => {
        const partition = partitionOf[i]!
        const baseOffset = base.get(partition)
        if (baseOffset === undefined || baseOffset < 0) {
          throw new Error(`kafka returned no base offset for ${topic}/${partition}`)
        }
        return { partition, offset: baseOffset + indexInPartition[i]! }
      })
    },
  }
}
