// A stored record read as text. JSON records are parsed from a string, so the embedded log reads a
// value as TEXT, one copy out of SQLite, instead of as a Buffer that is then decoded again; the
// Buffer is only built when a reader asks for `value`. The text is exactly the value's UTF-8 decoding
// (as Buffer#toString gives it); the value's bytes are exactly the stored ones: a text without
// U+FFFD decoded without replacement, so encoding it again gives the stored bytes back, and a
// record whose text has U+FFFD is given its stored bytes by the reader (see `bytes`).
import type { StoredRecord } from './log.ts'

type Headers = Readonly<Record<string, string>>

export class StoredTextRecord implements StoredRecord {
  #value: Buffer | undefined

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly key: string,
    readonly text: string,
    readonly headers: Headers,
    readonly timestamp: number,
    bytes?: Buffer,
  ) {
    this.#value = bytes
  }

  get value(): Buffer {
    return (this.#value ??= Buffer.from(this.text, 'utf8'))
  }
}

/** Whether a value's text may have lost bytes in decoding (so its Buffer must be read as stored). */
export function mayHaveReplacedBytes(text: string): boolean {
  return text.includes('\uFFFD')
}

/** The value as text: without a copy when the log read it as text. */
export function recordText(record: StoredRecord): string {
  return record instanceof StoredTextRecord ? record.text : record.value.toString('utf8')
}
