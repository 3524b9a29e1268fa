// The typed layer over the log: the only way domain code writes and reads records. Writers validate
// every record before anything is appended, so an invalid record never reaches a topic; readers
// decode and validate every record against its zod schema (or a shortcut that accepts only what the
// schema accepts unchanged, see RecordShortcut and TextShortcut), and a record that fails is either
// fatal (CorruptRecordError naming its position) or moved to a dead-letter topic: it is never
// skipped silently.
//
// Records are JSON. What is written is the schema's parsed output, so record schemas are JSON-shaped
// (no transforms to non-JSON values such as bigint; amounts are decimal strings). A writer validates
// with the zod schema, or with a codec that checks the same rules faster for a hot path (see
// RecordCodec).
//
// Records carry no headers: the value holds everything a consumer needs (its `type` and `v`
// included), and on Kafka each header costs kafkajs's encoder 1.5 to 4 µs per record.

import type { z } from 'zod'
import type { AppendedPosition, Log, LogConsumer, OutgoingRecord, StartOffsets, StoredRecord } from './log.ts'
import { CorruptRecordError, RecordRejectedError } from './log-errors.ts'
import { recordText } from './stored-text-record.ts'

type Headers = Readonly<Record<string, string>>

/**
 * Validation and JSON of one record type without zod, for writers on a hot path. check() must accept
 * exactly the records the schema accepts, and stringify() must return what JSON.stringify returns
 * for the schema's output; the codec's tests hold it to both against the schema.
 */
export interface RecordCodec<T> {
  /** undefined when the record is valid, else the issue as "path: message". */
  check(record: T): string | undefined
  /** The JSON of a record that passed check(). */
  stringify(record: T): string
}

/**
 * A check of a record parsed from JSON that skips the schema: true only when the schema accepts
 * the record and its output deep-equals it (keys in the same order), so the record is used as it
 * is. False decides nothing: the schema then parses the record, so what is accepted, the issue of
 * a corrupt record and the dead-letter path are the schema's alone.
 */
export type RecordShortcut<T> = (json: unknown) => json is T

/**
 * A reader of a record's text that skips JSON.parse and the schema: a record only when the schema
 * accepts JSON.parse of the text and its output deep-equals the record returned. undefined decides
 * nothing: the text is then parsed, and the shortcut and the schema decide.
 */
export type TextShortcut<T> = (text: string) => T | undefined

export interface RecordWriterOptions<T> {
  readonly log: Log
  readonly topic: string
  readonly schema: z.ZodType<T>
  /** Used instead of the schema to validate and encode what is written; consumers still use the schema. */
  readonly codec?: RecordCodec<T>
  /** The record's key: it picks the partition, so records that must stay ordered share it. */
  readonly keyOf: (record: T) => string
}

export interface RecordWriter<T> {
  readonly topic: string
  /** Validates every record, then appends them all in one call; an invalid one rejects them all. */
  write(records: readonly T[]): Promise<AppendedPosition[]>
  /**
   * Appends records already encoded, without a check: only for an encoder whose tests prove that
   * every value it produces is JSON.stringify of a record the schema accepts (the indexer's
   * log-to-json.ts). Appended in one call, as write().
   */
  writeEncoded(records: readonly OutgoingRecord[]): Promise<AppendedPosition[]>
}

export interface TypedRecord<T> {
  readonly offset: number
  readonly key: string
  readonly value: T
  readonly timestamp: number
}

export interface TypedBatch<T> {
  readonly topic: string
  readonly partition: number
  /** The valid records of the batch, in offset order (dead-lettered ones left out). */
  readonly records: readonly TypedRecord<T>[]
  /** Where to resume this partition once the batch is applied: past the dead-lettered ones too. */
  readonly nextOffset: number
}

export interface DeadLetter {
  readonly error: CorruptRecordError
  readonly key: string
  readonly deadLetterTopic: string
  readonly position: AppendedPosition
}

export interface ConsumeRecordsOptions<T> {
  readonly log: Log
  readonly topics: readonly string[]
  readonly groupId: string
  readonly from: StartOffsets
  readonly schema: z.ZodType<T>
  /** Tried before the schema on each parsed record (see RecordShortcut). */
  readonly shortcut?: RecordShortcut<T>
  /** Tried on each record's text before it is parsed (see TextShortcut). */
  readonly textShortcut?: TextShortcut<T>
  readonly maxBatchRecords?: number
  /** When set, a corrupt record is appended here (with its source position) instead of stopping. */
  readonly deadLetterTopic?: string
  /** Told of every record sent to the dead-letter topic, to count and log it. */
  readonly onDeadLetter?: (letter: DeadLetter) => void
  /**
   * Called per partition batch, in offset order. Called with no records too when every record of
   * the batch was dead-lettered, so the caller can store nextOffset and not redo them on restart.
   */
  readonly onRecords: (batch: TypedBatch<T>) => Promise<void>
}

/** Header names on a dead-lettered record, beside the headers it had. */
export const DEAD_LETTER_HEADERS = {
  topic: 'dead-letter.topic',
  partition: 'dead-letter.partition',
  offset: 'dead-letter.offset',
  error: 'dead-letter.error',
  groupId: 'dead-letter.group-id',
} as const

/** "path.to.field: message" of the first issue, plus how many more there are. */
export function describeZodError(error: z.ZodError): string {
  const [first, ...rest] = error.issues
  if (first === undefined) return error.message
  const path = first.path.length === 0 ? '(root)' : first.path.map(String).join('.')
  return `${path}: ${first.message}${rest.length > 0 ? ` (and ${rest.length} more issues)` : ''}`
}

export function createRecordWriter<T>(options: RecordWriterOptions<T>): RecordWriter<T> {
  const { log, topic, schema, keyOf } = options

  /** The key of a record that failed its check, for the error message; keyOf may not cope with it. */
  function keyForError(record: T): string {
    try {
      return keyOf(record)
    } catch {
      return '(no key)'
    }
  }

  function rejected(record: T, issue: string, cause: unknown): RecordRejectedError {
    return new RecordRejectedError(topic, keyForError(record), issue, { cause })
  }

  // Without a codec, each record is parsed once: its issue, or its parsed output to write.
  function encodeWithSchema(record: T): OutgoingRecord {
    const parsed = schema.safeParse(record)
    if (!parsed.success) throw rejected(record, describeZodError(parsed.error), parsed.error)
    return { key: keyOf(parsed.data), value: Buffer.from(JSON.stringify(parsed.data)) }
  }

  function encodeWithCodec(codec: RecordCodec<T>, record: T): OutgoingRecord {
    const issue = codec.check(record)
    if (issue !== undefined) throw rejected(record, issue, undefined)
    return { key: keyOf(record), value: Buffer.from(codec.stringify(record)) }
  }

  const { codec } = options
  const encodeOne = codec === undefined ? encodeWithSchema : (record: T) => encodeWithCodec(codec, record)

  function encode(records: readonly T[]): OutgoingRecord[] {
    const encoded = new Array<OutgoingRecord>(records.length)
    for (let i = 0; i < records.length; i++) encoded[i] = encodeOne(records[i]!)
    return encoded
  }

  return {
    topic,
    // Every record is validated and encoded before the append, so a bad one leaves nothing written.
    write: async (records) => (records.length === 0 ? [] : log.append(topic, encode(records))),
    writeEncoded: async (records) => (records.length === 0 ? [] : log.append(topic, records)),
  }
}

type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CorruptRecordError }

function corrupt<T>(record: StoredRecord, issue: string, cause: unknown): Decoded<T> {
  return { ok: false, error: new CorruptRecordError(record.topic, record.partition, record.offset, issue, { cause }) }
}

// No closure is made per record: this runs for every record a consumer reads.
export function decodeRecord<T>(schema: z.ZodType<T>, record: StoredRecord, shortcut?: RecordShortcut<T>, textShortcut?: TextShortcut<T>): Decoded<T> {
  const text = recordText(record)
  const read = textShortcut?.(text)
  if (read !== undefined) return { ok: true, value: read }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return corrupt(record, `invalid JSON: ${error instanceof Error ? error.message : String(error)}`, error)
  }
  if (shortcut?.(json) === true) return { ok: true, value: json }
  const parsed = schema.safeParse(json)
  return parsed.success ? { ok: true, value: parsed.data } : corrupt(record, describeZodError(parsed.error), parsed.error)
}

function deadLetterHeaders(record: StoredRecord, error: CorruptRecordError, groupId: string): Headers {
  return {
    ...record.headers,
    [DEAD_LETTER_HEADERS.topic]: record.topic,
    [DEAD_LETTER_HEADERS.partition]: String(record.partition),
    [DEAD_LETTER_HEADERS.offset]: String(record.offset),
    [DEAD_LETTER_HEADERS.error]: error.issue,
    [DEAD_LETTER_HEADERS.groupId]: groupId,
  }
}

export function consumeRecords<T>(options: ConsumeRecordsOptions<T>): LogConsumer {
  const { log, schema, shortcut, textShortcut, deadLetterTopic, onDeadLetter, onRecords, groupId } = options

  async function deadLetter(record: StoredRecord, error: CorruptRecordError, topic: string): Promise<void> {
    const [position] = await log.append(topic, [
      { key: record.key, value: record.value, headers: deadLetterHeaders(record, error, groupId) },
    ])
    if (position !== undefined) onDeadLetter?.({ error, key: record.key, deadLetterTopic: topic, position })
  }

  return log.consume({
    topics: options.topics,
    groupId,
    from: options.from,
    ...(options.maxBatchRecords === undefined ? {} : { maxBatchRecords: options.maxBatchRecords }),
    onBatch: async ({ topic, partition, records }) => {
      const valid: TypedRecord<T>[] = []
      for (const record of records) {
        const decoded = decodeRecord(schema, record, shortcut, textShortcut)
        if (decoded.ok) {
          valid.push({ offset: record.offset, key: record.key, value: decoded.value, timestamp: record.timestamp })
        } else if (deadLetterTopic !== undefined) {
          await deadLetter(record, decoded.error, deadLetterTopic)
        } else {
          // The records before the corrupt one are still applied; it and those after it are not.
          if (valid.length > 0) await onRecords({ topic, partition, records: valid, nextOffset: record.offset })
          throw decoded.error
        }
      }
      const last = records.at(-1)
      if (last !== undefined) await onRecords({ topic, partition, records: valid, nextOffset: last.offset + 1 })
    },
  })
}
