// Topic administration for the Kafka log: creating topics, and the metadata the log needs (partition
// counts, high watermarks). Partition counts are cached for the life of the log: a topic's count is
// fixed once created (the log never adds partitions, and adding some would move keys anyway).
import type { Admin, ITopicConfig, Kafka } from 'kafkajs'
import type { TopicSpec } from './log.ts'
import { InvalidTopicNameError, TopicMismatchError, UnknownTopicError } from './log-errors.ts'
import { isUnknownTopic, translateKafkaError } from './kafka-client.ts'

/** Largest record batch a topic accepts; the same as our broker's message.max.bytes. */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024

// Kafka's legal topic names.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

export interface KafkaTopicAdmin {
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>
  partitionCount(topic: string): Promise<number | undefined>
  /** The partition count, or UnknownTopicError. */
  requirePartitionCount(topic: string): Promise<number>
  endOffsets(topic: string): Promise<number[]>
  close(): Promise<void>
}

export interface KafkaTopicAdminDeps {
  readonly kafka: Kafka
  readonly brokers: readonly string[]
  /** Replicas of each partition of the topics it creates. */
  readonly replicationFactor: number
}

export function createKafkaTopicAdmin(deps: KafkaTopicAdminDeps): KafkaTopicAdmin {
  const { brokers } = deps
  const admin = deps.kafka.admin()
  const counts = new Map<string, number>()
  let connecting: Promise<Admin> | undefined

  // Connects on first use; a failed connection is forgotten so that the next call tries again.
  function connected(): Promise<Admin> {
    connecting ??= admin.connect().then(
      () => admin,
      (error: unknown) => {
        connecting = undefined
        throw error
      },
    )
    return connecting
  }

  async function call<T>(operation: (admin: Admin) => Promise<T>, topic?: string): Promise<T> {
    try {
      return await operation(await connected())
    } catch (error) {
      throw translateKafkaError(error, brokers, topic)
    }
  }

  async function partitionCount(topic: string): Promise<number | undefined> {
    const cached = counts.get(topic)
    if (cached !== undefined) return cached
    try {
      const metadata = await call((a) => a.fetchTopicMetadata({ topics: [topic] }))
      const count = metadata.topics.find((t) => t.name === topic)?.partitions.length
      if (count !== undefined && count > 0) counts.set(topic, count)
      return count
    } catch (error) {
      if (isUnknownTopic(error)) return undefined
      throw error
    }
  }

  async function requirePartitionCount(topic: string): Promise<number> {
    const count = await partitionCount(topic)
    if (count === undefined) throw new UnknownTopicError(topic)
    return count
  }

  async function ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    for (const spec of topics) assertTopicSpec(spec)
    const missing: TopicSpec[] = []
    for (const spec of topics) {
      const actual = await partitionCount(spec.name)
      if (actual === undefined) missing.push(spec)
      else if (actual !== spec.partitions) throw new TopicMismatchError(spec.name, spec.partitions, actual)
    }
    if (missing.length === 0) return
    // kafkajs's own wait for leaders gives up when the broker does not know the new topic yet.
    await call((a) => a.createTopics({ topics: missing.map((spec) => topicConfig(spec, deps.replicationFactor)), waitForLeaders: false }))
    for (const spec of missing) {
      // Another client may have created a topic between the check and the creation.
      const actual = await untilLeadersElected(spec.name)
      if (actual !== spec.partitions) throw new TopicMismatchError(spec.name, spec.partitions, actual)
      // The leaders serve requests once they answer ListOffsets; until then produce requests fail
      // for some partitions, which costs every append made in that moment a retry.
      await endOffsets(spec.name)
    }
  }

  /** Waits until the broker reports a leader for every partition; returns the partition count. */
  async function untilLeadersElected(topic: string): Promise<number> {
    return whilePropagating(topic, async () => {
      const metadata = await call((a) => a.fetchTopicMetadata({ topics: [topic] }))
      const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? []
      if (partitions.length === 0 || partitions.some((p) => p.partitionErrorCode !== 0 || p.leader < 0)) {
        throw new TopicNotReadyError(topic)
      }
      counts.set(topic, partitions.length)
      return partitions.length
    })
  }

  async function endOffsets(topic: string): Promise<number[]> {
    const count = await requirePartitionCount(topic)
    const offsets = await whilePropagating(topic, () => call((a) => a.fetchTopicOffsets(topic), topic))
    const ends = new Array<number>(count).fill(0)
    for (const { partition, high } of offsets) ends[partition] = Number(high)
    return ends
  }

  return {
    ensureTopics,
    partitionCount,
    requirePartitionCount,
    endOffsets,
    close: async () => {
      const wasConnected = connecting !== undefined
      connecting = undefined
      if (wasConnected) await admin.disconnect()
    },
  }
}

// What a broker answers about a topic created a moment ago, until its metadata has reached every
// part of the broker (a fresh KRaft node takes longest); kafkajs retries only some of these.
const PROPAGATING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION'])
const PROPAGATION_TIMEOUT_MS = 30_000
const PROPAGATION_POLL_MS = 100

class TopicNotReadyError extends Error {
  override readonly name = 'TopicNotReadyError'
  constructor(
    readonly topic: string,
    options?: ErrorOptions,
  ) {
    super(`topic ${topic} has no leader for every partition yet`, options)
  }
}

function isPropagating(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof TopicNotReadyError || e instanceof UnknownTopicError) return true
    if ('type' in e && typeof e.type === 'string' && PROPAGATING.has(e.type)) return true
  }
  return false
}

/** Runs `operation` again while it fails only because `topic` is still being propagated. */
async function whilePropagating<T>(topic: string, operation: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + PROPAGATION_TIMEOUT_MS
  for (;;) {
    try {
      return await operation()
    } catch (error) {
      if (!isPropagating(error)) throw error
      if (Date.now() >= deadline) throw new TopicNotReadyError(topic, { cause: error })
      await new Promise((resolve) => setTimeout(resolve, PROPAGATION_POLL_MS))
    }
  }
}

function assertTopicSpec(spec: TopicSpec): void {
  if (!TOPIC_NAME.test(spec.name)) throw new InvalidTopicNameError(spec.name)
  if (!Number.isSafeInteger(spec.partitions) || spec.partitions < 1) {
    throw new RangeError(`topic ${spec.name}: partition count must be a positive integer, got ${spec.partitions}`)
  }
}

function topicConfig(spec: TopicSpec, replicationFactor: number): ITopicConfig {
  const configEntries = [
    // Record timestamps are the time the log accepted them, as the Log interface promises.
    { name: 'message.timestamp.type', value: 'LogAppendTime' },
    // One append call's records for a partition travel as one batch; let that batch be large.
    { name: 'max.message.bytes', value: String(MAX_BATCH_BYTES) },
  ]
  if (spec.compacted === true) configEntries.push({ name: 'cleanup.policy', value: 'compact' })
  return { topic: spec.name, numPartitions: spec.partitions, replicationFactor, configEntries }
}
