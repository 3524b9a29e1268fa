// The Kafka log's consumer: a kafkajs consumer in the caller's group that never commits offsets (the
// caller stores its own, in the same transaction as what it derives from the records) and starts each
// assigned partition where the caller says.
//
// Positions: kafkajs only lets a group member seek after it has joined, so every join (the first and
// any rebalance) seeks each assigned partition to the next offset this consumer has not delivered
// yet, or to from(topic, partition) the first time. A fetch already in flight during a seek can still
// return older records, so records below that position are dropped here as well: onBatch never sees
// an offset twice, nor one before the start it asked for.
//
// Failures: an onBatch rejection stops the consumer and rejects `done` with it. kafkajs's own failures
// (a broker gone for longer than its retries) crash the consumer, which is not restarted: `done`
// rejects and the owner decides, from its stored offsets, whether to start again.
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import type { Logger } from '../runtime/logger.ts'
import type { ConsumeOptions, LogConsumer, StoredRecord } from './log.ts'
import { InvalidConsumeOptionError } from './log-errors.ts'
import { KAFKA_CLIENT_RETRIES, translateKafkaError } from './kafka-client.ts'

const DEFAULT_MAX_BATCH_RECORDS = 1000
// Latency: a fetch returns as soon as there is one byte, and waits at most this long when idle.
const MAX_WAIT_TIME_MS = 100
// Bytes asked of each partition per fetch. A record batch larger than this still comes whole (the
// broker always returns the first batch, KIP-74), so it only bounds memory: with the topics' 16 MB
// batch limit here, a catch-up over six partitions held far more fetched records than it folds at
// once: a 1M-record replay peaked at 533 MB with 16 MB per partition, 499 MB with 2 MB and 441 MB
// with 1 MB, kafkajs's own default. On a faster host the same replay reached 494 to 510 MB with
// 1 MB, and 464 to 475 MB with 512 KiB at the same rate (runs in turns: 118k-135k against
// 124k-131k records/s), hence 512 KiB.
const MAX_FETCH_BYTES_PER_PARTITION = 512 * 1024

export interface KafkaConsumerDeps {
  readonly kafka: Kafka
  readonly brokers: readonly string[]
  readonly logger: Logger
  readonly options: ConsumeOptions
  /** The topic's partition count, or undefined while it does not exist. */
  readonly partitionCount: (topic: string) => Promise<number | undefined>
}

// How often a consumer of a topic that does not exist yet checks whether it has been created.
const TOPIC_POLL_MS = 500
const TOPIC_WAIT_WARNING_MS = 10_000

export function startKafkaConsumer(deps: KafkaConsumerDeps): LogConsumer {
  const { options, brokers } = deps
  const maxBatchRecords = options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS
  if (!Number.isSafeInteger(maxBatchRecords) || maxBatchRecords < 1) {
    throw new InvalidConsumeOptionError('maxBatchRecords', maxBatchRecords)
  }
  const logger = deps.logger.child({ groupId: options.groupId })
  const consumer = deps.kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: MAX_FETCH_BYTES_PER_PARTITION,
    maxWaitTimeInMs: MAX_WAIT_TIME_MS,
    retry: { retries: KAFKA_CLIENT_RETRIES, restartOnFailure: async () => false },
  })
  // The next offset to deliver, per "topic/partition".
  const positions = new Map<string, number>()
  let stopping = false
  let failure: { error: unknown } | undefined
  let settle!: { resolve: () => void; reject: (error: unknown) => void }
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }))
  // An owner that never awaits `done` must not take the process down with an unhandled rejection.
  done.catch(() => undefined)

  function positionOf(topic: string, partition: number): number {
    const known = positions.get(`${topic}/${partition}`)
    if (known !== undefined) return known
    const from = options.from(topic, partition)
    if (!Number.isSafeInteger(from) || from < 0) throw new InvalidConsumeOptionError(`from(${topic}, ${partition})`, from)
    positions.set(`${topic}/${partition}`, from)
    return from
  }

  function seekAssigned(assignment: Readonly<Record<string, readonly number[]>>): void {
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        consumer.seek({ topic, partition, offset: String(positionOf(topic, partition)) })
      }
    }
  }

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    try {
      seekAssigned(payload.memberAssignment)
    } catch (error) {
      fail(error)
    }
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(translateKafkaError(payload.error, brokers))
  })

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload
    const key = `${batch.topic}/${batch.partition}`
    const position = positions.get(key)
    // A batch fetched before this partition's seek was applied; its records are fetched again.
    if (position === undefined) return
    const records = batch.messages
      .filter((m) => Number(m.offset) >= position)
      .map((m) => toStoredRecord(batch.topic, batch.partition, m))
    if (records.length === 0) resolveOffset(batch.lastOffset())
    for (let start = 0; start < records.length; start += maxBatchRecords) {
      if (stopping || failure !== undefined || !isRunning() || isStale()) return
      const chunk = records.slice(start, start + maxBatchRecords)
      try {
        await options.onBatch({ topic: batch.topic, partition: batch.partition, records: chunk })
      } catch (error) {
        fail(error)
        return
      }
      const last = chunk[chunk.length - 1]!
      positions.set(key, last.offset + 1)
      resolveOffset(String(last.offset))
      await heartbeat()
    }
  }

  // Like the embedded log, a consumer may start before its topics are created; kafkajs cannot
  // subscribe to a missing topic, so it waits for them here.
  async function topicsExist(): Promise<boolean> {
    const started = Date.now()
    let warned = false
    for (;;) {
      const counts = await Promise.all(options.topics.map((topic) => deps.partitionCount(topic)))
      const missing = options.topics.filter((_, i) => counts[i] === undefined)
      if (missing.length === 0) return true
      if (stopping || failure !== undefined) return false
      if (!warned && Date.now() - started >= TOPIC_WAIT_WARNING_MS) {
        warned = true
        logger.warn('kafka consumer waiting for topics to be created', { topics: missing })
      }
      await new Promise((resolve) => setTimeout(resolve, TOPIC_POLL_MS))
    }
  }

  const started = (async () => {
    if (!(await topicsExist())) return
    await consumer.connect()
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: true })
    // stop() may have been called while connecting; run() would then start a consumer nobody stops.
    if (stopping || failure !== undefined) return
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch })
  })().catch((error: unknown) => {
    fail(translateKafkaError(error, brokers, options.topics.length === 1 ? options.topics[0] : undefined))
  })

  function fail(error: unknown): void {
    if (failure !== undefined || stopping) return
    failure = { error }
    logger.warn('kafka consumer stopped by an error', { error: error instanceof Error ? error : String(error) })
    // Not awaited: the failure may come from inside eachBatch, which disconnect() waits for.
    void shutDown(consumer, logger).then(() => settle.reject(error))
  }

  return {
    done,
    stop: async () => {
      if (stopping || failure !== undefined) {
        await done.catch(() => undefined)
        return
      }
      stopping = true
      await started
      await shutDown(consumer, logger)
      settle.resolve()
    },
  }
}

async function shutDown(consumer: Consumer, logger: Logger): Promise<void> {
  try {
    await consumer.disconnect()
  } catch (error) {
    logger.warn('kafka consumer did not disconnect cleanly', { error: error instanceof Error ? error : String(error) })
  }
}

function toStoredRecord(topic: string, partition: number, message: KafkaMessage): StoredRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null ? '' : message.key.toString('utf8'),
    // A tombstone (null value) on a compacted topic reads as an empty value.
    value: message.value ?? Buffer.alloc(0),
    headers: toHeaders(message.headers),
    timestamp: Number(message.timestamp),
  }
}

function toHeaders(headers: KafkaMessage['headers']): Readonly<Record<string, string>> {
  const out: Record<string, string> = {}
  if (headers === undefined) return out
  for (const [name, value] of Object.entries(headers)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value
    if (last !== undefined) out[name] = typeof last === 'string' ? last : last.toString('utf8')
  }
  return out
}
