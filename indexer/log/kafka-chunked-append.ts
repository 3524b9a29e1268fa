// An append to Kafka as a sequence of bounded produce requests. kafkajs 2.2.4 spends CPU quadratic in
// the records of one partition in one send (it regroups a send's messages by copying the partition's
// array for each message), and encodes each send into a handful of buffers that grow by copying; a
// 10,000-record append of 500-byte records sent whole cost about 1.6 times the CPU per record of the
// same records sent a few hundred per partition at a time (with kafkajs's own record encoder). So an
// append is planned as sends of at most `recordsPerPartition` records (and about `bytesPerPartition`
// bytes) per partition, sent one after the other, each record's offset taken from the base offset
// Kafka gave its own send's batch.
//
// Retrying a rejected append stays safe. Sends before the failed one were acknowledged, so sending
// them again would write them twice (they would get new sequence numbers); the appender remembers how
// far the failed append got, and when the next append is the same records to the same topic (the
// caller's retry), it starts at the send that failed. kafkajs has rewound that send's sequence
// numbers, so any batch of it the broker did take is recognised as a duplicate and acknowledged with
// its original offsets. An append that is not retried may leave a prefix of each partition's share
// on the log, never a gap: within a partition the sends go in order and each waits for the last.
import type { Message, RecordMetadata } from 'kafkajs'
import type { AppendedPosition, OutgoingRecord } from './log.ts'
import { UnknownPartitionError } from './log-errors.ts'
import { partitionForKey } from './partitioner.ts'

export interface SendLimits {
  /** Records of one partition in one send. */
  readonly recordsPerPartition: number
  /** Key, value and header bytes of one partition in one send; a larger record goes alone. */
  readonly bytesPerPartition: number
}

// Records per partition per send trade kafkajs's regrouping, whose CPU per record grows with them,
// against round trips, one per send, each waiting for the broker (several milliseconds when the
// machine is loaded). On a quiet machine the log benchmark gave, per record: 1,000 -> 21.4 µs
// (41k records/s), 400 -> 17.7 µs (48k/s), 250 -> 15.9 to 20.2 µs (50k to 63k/s); above 1,250 it
// grows fast (2,500: +4 µs, 5,000: +7 µs). Round trips on loopback cost less than the copies saved,
// so 250 it is. With our own record encoding (kafka-produce-encoding.ts) the regrouping is a larger
// share of what is left, and 250 still wins: on a loaded machine (load average 7 to 10) 125 -> 7.2 µs,
// 250 -> 4.8 to 5.8 µs, 500 -> 5.2 µs, 1,000 -> 5.9 µs per record. 1 MiB keeps every batch far below
// the topics' max.message.bytes (kafka-admin.ts), whatever the record size.
export const DEFAULT_SEND_LIMITS: SendLimits = { recordsPerPartition: 250, bytesPerPartition: 1024 * 1024 }

// Kafka's per-record framing (length, attributes, deltas, varint lengths), for the byte limit only.
const RECORD_OVERHEAD_BYTES = 16

/** One produce request of an append: some records of each of its partitions. */
export interface PlannedSend {
  readonly messages: Message[]
  /**
   * Stores in `positions` (indexed like the append's records) the position of each record of this
   * send: its partition batch's base offset plus its index among the send's records of that partition.
   * (kafkajs makes one send() one produce request per broker holding one record batch per partition,
   * in the order given, and Kafka appends a batch contiguously.)
   */
  place(metadata: readonly RecordMetadata[], positions: AppendedPosition[]): void
}

export interface AppendPlan {
  readonly topic: string
  readonly records: readonly OutgoingRecord[]
  readonly sends: readonly PlannedSend[]
}

/** Routes each record to its partition (its key's unless it names one) and cuts the append into sends. */
export function planAppend(
  topic: string,
  records: readonly OutgoingRecord[],
  partitions: number,
  limits: SendLimits = DEFAULT_SEND_LIMITS,
): AppendPlan {
  const runs = partitionRuns(topic, records, partitions, limits)
  const count = Math.max(...runs.map((list) => list.length))
  const sends = Array.from({ length: count }, (_, k) => plannedSend(topic, records, runs.flatMap((list) => list[k] ?? [])))
  return { topic, records, sends }
}

/** A stretch of one partition's records, in call order, sent in one batch. */
interface PartitionRun {
  readonly partition: number
  /** Indexes into the append's records. */
  readonly indexes: number[]
}

/** Each partition's records in call order, cut into runs within the limits; runs[p][k] goes in send k. */
function partitionRuns(
  topic: string,
  records: readonly OutgoingRecord[],
  partitions: number,
  limits: SendLimits,
): PartitionRun[][] {
  const runs: PartitionRun[][] = Array.from({ length: partitions }, () => [])
  const bytes = new Array<number>(partitions).fill(0)
  // An append repeats a few market keys many times; murmur2 runs once per distinct key.
  const keyPartitions = new Map<string, number>()
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const partition = record.partition ?? keyPartition(record.key, partitions, keyPartitions)
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
      throw new UnknownPartitionError(topic, partition, partitions)
    }
    const size = recordBytes(record)
    const list = runs[partition]!
    const last = list[list.length - 1]
    if (
      last === undefined ||
      last.indexes.length >= limits.recordsPerPartition ||
      bytes[partition]! + size > limits.bytesPerPartition
    ) {
      list.push({ partition, indexes: [i] })
      bytes[partition] = size
    } else {
      last.indexes.push(i)
      bytes[partition] = bytes[partition]! + size
    }
  }
  return runs
}

function keyPartition(key: string, partitions: number, known: Map<string, number>): number {
  let partition = known.get(key)
  if (partition === undefined) {
    partition = partitionForKey(key, partitions)
    known.set(key, partition)
  }
  return partition
}

function recordBytes(record: OutgoingRecord): number {
  let size = RECORD_OVERHEAD_BYTES + record.key.length * 3 + record.value.length
  if (record.headers !== undefined) {
    for (const [name, value] of Object.entries(record.headers)) size += 2 + (name.length + value.length) * 3
  }
  return size
}

function plannedSend(topic: string, records: readonly OutgoingRecord[], runs: readonly PartitionRun[]): PlannedSend {
  const messages: Message[] = []
  for (const { partition, indexes } of runs) {
    for (const i of indexes) {
      const record = records[i]!
      messages.push(
        record.headers === undefined
          ? { key: record.key, value: record.value, partition }
          : { key: record.key, value: record.value, partition, headers: record.headers },
      )
    }
  }
  return {
    messages,
    place: (metadata, positions) => {
      const base = new Map<number, number>()
      for (const m of metadata) if (m.topicName === topic) base.set(m.partition, Number(m.baseOffset))
      for (const { partition, indexes } of runs) {
        const baseOffset = base.get(partition)
        if (baseOffset === undefined || !(baseOffset >= 0)) {
          throw new Error(`kafka returned no base offset for ${topic}/${partition}`)
        }
        for (let j = 0; j < indexes.length; j++) positions[indexes[j]!] = { partition, offset: baseOffset + j }
      }
    },
  }
}

/** Whether two appends carry the same records: keys, values, headers and named partitions. */
export function sameRecords(a: readonly OutgoingRecord[], b: readonly OutgoingRecord[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x.key !== y.key || x.partition !== y.partition || !x.value.equals(y.value)) return false
    if (!sameHeaders(x.headers, y.headers)) return false
  }
  return true
}

function sameHeaders(a: OutgoingRecord['headers'], b: OutgoingRecord['headers']): boolean {
  const x = Object.entries(a ?? {})
  const y = b ?? {}
  return x.length === Object.keys(y).length && x.every(([name, value]) => y[name] === value)
}

/** Sends one planned send's messages as one produce request; rejects if Kafka did not take them. */
export type SendMessages = (topic: string, messages: Message[]) => Promise<RecordMetadata[]>

export interface ChunkedAppender {
  /** Plans the append (rejecting at once with UnknownPartitionError), then runs it after the appends before it. */
  append(topic: string, records: readonly OutgoingRecord[], partitions: number): Promise<AppendedPosition[]>
}

interface UnfinishedAppend {
  readonly plan: AppendPlan
  /** The records as they were when the append failed, to recognise its retry. */
  readonly records: readonly OutgoingRecord[]
  /** Sends acknowledged before the one that failed. */
  readonly sent: number
  readonly positions: AppendedPosition[]
}

export function createChunkedAppender(send: SendMessages, limits: SendLimits = DEFAULT_SEND_LIMITS): ChunkedAppender {
  // One append at a time. When a produce request fails for some of its partitions, kafkajs rewinds
  // the sequence numbers of all of them, including those the broker took; a send started meanwhile
  // would reuse those numbers and be refused as out of order (or, with the same record count, be
  // taken for a duplicate and dropped). Only the failed append's own retry may come next.
  let previous: Promise<unknown> = Promise.resolve()
  let unfinished: UnfinishedAppend | undefined

  async function run(plan: AppendPlan): Promise<AppendedPosition[]> {
    const resumed =
      unfinished !== undefined && unfinished.plan.topic === plan.topic && sameRecords(unfinished.records, plan.records)
        ? unfinished
        : undefined
    unfinished = undefined
    // A retry runs the failed append's own plan, so that every send is cut exactly as before.
    const sends = resumed?.plan.sends ?? plan.sends
    const positions = resumed?.positions ?? new Array<AppendedPosition>(plan.records.length)
    for (let k = resumed?.sent ?? 0; k < sends.length; k++) {
      const planned = sends[k]!
      try {
        planned.place(await send(plan.topic, planned.messages), positions)
      } catch (error) {
        const failed = resumed?.plan ?? plan
        unfinished = { plan: failed, records: [...failed.records], sent: k, positions }
        throw error
      }
    }
    return positions
  }

  return {
    append: async (topic, records, partitions) => {
      const plan = planAppend(topic, records, partitions, limits)
      const result = previous.then(() => run(plan))
      previous = result.catch(() => undefined)
      return result
    },
  }
}
