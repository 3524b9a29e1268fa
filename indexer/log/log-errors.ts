// Errors of the log and of its typed layer. Each names the bad input in a short message, carries
// it in fields for callers that branch on it, and keeps the underlying `cause`.

interface WithCause {
  readonly cause?: unknown
}

function causeOption(options: WithCause | undefined): ErrorOptions | undefined {
  return options?.cause === undefined ? undefined : { cause: options.cause }
}

/** No broker of the configured list could be reached. */
export class LogUnavailableError extends Error {
  override readonly name = 'LogUnavailableError'
  readonly brokers: readonly string[]
  constructor(brokers: readonly string[], options?: WithCause) {
    super(`log unavailable: no broker reachable among ${brokers.join(', ')}`, causeOption(options))
    this.brokers = brokers
  }
}

/** The disk holding the log file is full; the failed append wrote nothing. */
export class LogFullError extends Error {
  override readonly name = 'LogFullError'
  readonly file: string
  constructor(file: string, options?: WithCause) {
    super(`log full: no space left for ${file}`, causeOption(options))
    this.file = file
  }
}

/** A topic already exists with another partition count than the one asked for. */
export class TopicMismatchError extends Error {
  override readonly name = 'TopicMismatchError'
  readonly topic: string
  readonly expectedPartitions: number
  readonly actualPartitions: number
  constructor(topic: string, expectedPartitions: number, actualPartitions: number, options?: WithCause) {
    super(
      `topic ${topic} has ${actualPartitions} partitions, expected ${expectedPartitions}`,
      causeOption(options),
    )
    this.topic = topic
    this.expectedPartitions = expectedPartitions
    this.actualPartitions = actualPartitions
  }
}

/** The topic does not exist (topics are created by ensureTopics, never implicitly). */
export class UnknownTopicError extends Error {
  override readonly name = 'UnknownTopicError'
  readonly topic: string
  constructor(topic: string, options?: WithCause) {
    super(`unknown topic ${topic}`, causeOption(options))
    this.topic = topic
  }
}

/** A topic name outside Kafka's legal set ([a-zA-Z0-9._-], 1 to 249 characters). */
export class InvalidTopicNameError extends Error {
  override readonly name = 'InvalidTopicNameError'
  readonly topic: string
  constructor(topic: string, options?: WithCause) {
    super(`invalid topic name ${JSON.stringify(topic)}`, causeOption(options))
    this.topic = topic
  }
}

/** A record asked for a partition the topic does not have. */
export class UnknownPartitionError extends Error {
  override readonly name = 'UnknownPartitionError'
  readonly topic: string
  readonly partition: number
  readonly partitions: number
  constructor(topic: string, partition: number, partitions: number, options?: WithCause) {
    super(`topic ${topic} has no partition ${partition} (it has ${partitions})`, causeOption(options))
    this.topic = topic
    this.partition = partition
    this.partitions = partitions
  }
}

/** Compaction was asked of a topic not created as compacted. */
export class TopicNotCompactedError extends Error {
  override readonly name = 'TopicNotCompactedError'
  readonly topic: string
  constructor(topic: string, options?: WithCause) {
    super(`topic ${topic} is not compacted`, causeOption(options))
    this.topic = topic
  }
}

/** A record failed its schema before append; nothing of that append call was written. */
export class RecordRejectedError extends Error {
  override readonly name = 'RecordRejectedError'
  readonly topic: string
  readonly key: string
  readonly issue: string
  constructor(topic: string, key: string, issue: string, options?: WithCause) {
    super(`record ${key} rejected for topic ${topic}: ${issue}`, causeOption(options))
    this.topic = topic
    this.key = key
    this.issue = issue
  }
}

/** A consumer met a record that is not valid JSON or fails its schema. */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError'
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly issue: string
  constructor(topic: string, partition: number, offset: number, issue: string, options?: WithCause) {
    super(`corrupt record at ${topic}/${partition}@${offset}: ${issue}`, causeOption(options))
    this.topic = topic
    this.partition = partition
    this.offset = offset
    this.issue = issue
  }
}

/** The log was closed; nothing more can be appended or read through it. */
export class LogClosedError extends Error {
  override readonly name = 'LogClosedError'
  readonly operation: string
  constructor(operation: string, options?: WithCause) {
    super(`log closed: cannot ${operation}`, causeOption(options))
    this.operation = operation
  }
}

/** A consume option out of range: a start offset below 0 or not an integer, a batch size below 1. */
export class InvalidConsumeOptionError extends RangeError {
  override readonly name = 'InvalidConsumeOptionError'
  readonly option: string
  constructor(option: string, value: unknown, options?: WithCause) {
    super(`invalid consume option ${option}: ${String(value)}`, causeOption(options))
    this.option = option
  }
}
