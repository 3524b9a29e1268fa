// Test support: kafkajs 2.2.4's own produce encoder, record batch decoder and CRC-32C, the reference
// that our encoding (kafka-record-batch.ts, kafka-produce-encoding.ts) must match byte for byte, and
// records that exercise every field's edge cases. Only tests import this file.
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import type { BatchRecord } from './kafka-record-batch.ts'

const require = createRequire(import.meta.url)

export interface KafkajsDecoder {
  readString(): string
  readInt16(): number
  readInt32(): number
}
export interface DecodedRecord {
  readonly key: Buffer
  readonly value: Buffer
  readonly headers: Record<string, Buffer>
  readonly timestamp: string
  readonly offset: string
}
export interface DecodedBatch {
  readonly producerId: string
  readonly producerEpoch: number
  readonly firstSequence: number
  readonly lastOffsetDelta: number
  readonly inTransaction: boolean
  readonly records: DecodedRecord[]
}
type EncodedRequest = { encode(): Promise<{ buffer: Buffer }> }
export interface ProduceDefinition {
  protocol(options: { version: number }): (args: Record<string, unknown>) => { request: EncodedRequest }
}

/** kafkajs's Produce v3 request, whose body versions 4 to 7 share. */
export const stockProduceRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (
  args: Record<string, unknown>,
) => EncodedRequest
export const KafkajsLong = require('kafkajs/src/utils/long.js') as { fromValue(v: bigint): { readonly value: bigint } }
export const stockCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number
/** kafkajs's table of Produce request versions, the entry kafka-produce-encoding.ts replaces. */
export const produceDefinition = require('kafkajs/src/protocol/requests/produce/index.js') as ProduceDefinition
export const kafkajsVersion = (require('kafkajs/package.json') as { version: string }).version
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => KafkajsDecoder
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: KafkajsDecoder) => Promise<DecodedBatch>

/** Records with ASCII and non-ASCII keys, empty and multi-byte-length values, no, empty and unicode headers. */
export function edgeCaseRecords(count: number, seed: number): BatchRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const key = i % 7 === 3 ? `marché-${seed}-${i} 価格` : `market-${(seed + i) % 10}`
    const value = i % 11 === 5 ? Buffer.alloc(0) : randomBytes(i % 13 === 1 ? 20_000 : 1 + ((i * 37) % 600))
    if (i % 3 === 0) return { key, value }
    if (i % 3 === 1) return { key, value, headers: {} }
    return { key, value, headers: { 'content-type': 'application/json', note: `prix €, 価格 😀 ${i}`, empty: '' } }
  })
}

/** The record batch of a produce request body's first partition of its first topic, read by kafkajs. */
export async function firstBatch(bytes: Buffer): Promise<DecodedBatch> {
  const decoder = new Decoder(bytes)
  decoder.readString() // transactional id
  decoder.readInt16() // acks
  decoder.readInt32() // timeout
  decoder.readInt32() // topic count
  decoder.readString() // topic
  decoder.readInt32() // partition count
  decoder.readInt32() // partition
  decoder.readInt32() // record set size
  return decodeRecordBatch(decoder)
}
