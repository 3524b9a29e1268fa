// The Kafka backend of the log (kafkajs). Records are placed by our own partitioner, not kafkajs's,
// so both backends put a key in the same partition; the producer is idempotent, so retrying a
// rejected append (as the Log contract asks) cannot duplicate records the broker already took. A
// large append goes as several bounded produce requests, one after the other (kafka-chunked-append.ts),
// whose records we encode ourselves where the installed kafkajs allows it (kafka-produce-encoding.ts).
//
// "Durable" is Kafka's notion here: an append resolves once every in-sync replica has the records
// (acks=-1). Kafka gets durability from replication rather than fsync, so on a single broker (the
// development setup) a power loss can still lose the last appends that the OS had not written out.
import { CompressionTypes } from 'kafkajs'
import type { Kafka, Producer } from 'kafkajs'
import { createLogger } from '../runtime/logger.ts'
import type { Logger } from '../runtime/logger.ts'
import type { AppendedPosition, ConsumeOptions, Log, LogConsumer, OutgoingRecord } from './log.ts'
import { LogClosedError } from './log-errors.ts'
import { createKafkaClient, translateKafkaError } from './kafka-client.ts'
import { createKafkaTopicAdmin } from './kafka-admin.ts'
import { createChunkedAppender } from './kafka-chunked-append.ts'
import { installProduceEncoding, ownEncoding } from './kafka-produce-encoding.ts'
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
  if (installProduceEncoding() === 'kafkajs') {
    logger.warn('kafka-log: kafkajs is not the version our produce encoder was written for; using its own encoder')
  }
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

  // kafkajs's own retry of a failed send resends the same batches with the same sequence numbers,
  // which the broker recognises as duplicates and acknowledges with their original offsets; the
  // appender makes the caller's retry of a rejected append do the same (see kafka-chunked-append.ts).
  const appender = createChunkedAppender(async (topic, messages) => {
    try {
      const client = await connected()
      return await client.send({ topic, messages: ownEncoding(messages), acks: -1, compression: CompressionTypes.None })
    } catch (error) {
      throw translateKafkaError(error, brokers, topic)
    }
  })

  return {
    append: async (topic, records) => {
      if (records.length === 0) return []
      return appender.append(topic, records, await admin.requirePartitionCount(topic))
    },
    close: async () => {
      const wasConnected = connecting !== undefined
      connecting = undefined
      if (wasConnected) await producer.disconnect()
    },
  }
}
