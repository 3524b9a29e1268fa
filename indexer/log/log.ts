// The log: one interface, two real backends (Kafka through kafkajs, and an embedded SQLite file).
// Both have Kafka's semantics: a topic has numbered partitions; a record's partition follows from
// its key (murmur2, as Kafka's Java client does), so each market's records stay ordered; offsets are
// dense per partition and start at 0; a consumer reads a partition from a given offset onwards.
//
// This layer moves bytes. It does not know record schemas: validation on append and on consume lives
// in ./typed-log.ts, which every producer and consumer of domain records goes through.

export interface TopicSpec {
  readonly name: string
  readonly partitions: number
  /** Keep only the newest record per key (Kafka's cleanup.policy=compact). */
  readonly compacted?: boolean
}

export interface OutgoingRecord {
  readonly key: string
  readonly value: Buffer
  readonly headers?: Readonly<Record<string, string>>
  /** Overrides the partition that the key would choose. */
  readonly partition?: number
}

export interface StoredRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string
  readonly value: Buffer
  readonly headers: Readonly<Record<string, string>>
  /** Milliseconds since the epoch at which the log accepted the record. */
  readonly timestamp: number
}

export interface AppendedPosition {
  readonly partition: number
  readonly offset: number
}

export interface RecordBatch {
  readonly topic: string
  readonly partition: number
  readonly records: readonly StoredRecord[]
}

/** Where a consumer starts in each partition: the offset of the first record it wants. */
export type StartOffsets = (topic: string, partition: number) => number

export interface ConsumeOptions {
  readonly topics: readonly string[]
  /** Kafka consumer group (each `serve` replica has its own). The embedded log ignores it. */
  readonly groupId: string
  readonly from: StartOffsets
  /** Upper bound on records handed to one onBatch call. */
  readonly maxBatchRecords?: number
  /**
   * Called with the records of one partition, in offset order. The next batch of that partition is
   * not fetched until the promise resolves; a rejection stops the consumer and rejects run().
   */
  readonly onBatch: (batch: RecordBatch) => Promise<void>
}

export interface LogConsumer {
  /** Resolves once stop() is called and the in-flight batch is done; rejects on the first error. */
  readonly done: Promise<void>
  stop(): Promise<void>
}

export interface Log {
  readonly backend: 'kafka' | 'embedded'
  /** Creates the topics that do not exist yet; an existing topic must have the same partition count. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>
  /**
   * Appends records atomically per call on the embedded log and idempotently on Kafka. Resolves only
   * once every record is durable; on rejection the caller must assume none was written and retry the
   * whole call (the Kafka producer's idempotence makes such a retry safe).
   */
  append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendedPosition[]>
  /** The offset the next record of each partition will get (Kafka's high watermark). */
  endOffsets(topic: string): Promise<number[]>
  /** The number of partitions of a topic, or undefined when it does not exist. */
  partitionCount(topic: string): Promise<number | undefined>
  consume(options: ConsumeOptions): LogConsumer
  close(): Promise<void>
}
