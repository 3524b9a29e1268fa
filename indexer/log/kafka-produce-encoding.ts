// Our own encoding of the produce requests the Kafka log sends, installed into kafkajs. kafkajs spends
// most of a send's CPU encoding records (a zeroed buffer per record, varints one call at a time,
// buffers that grow by copying, a byte-at-a-time CRC32C); kafka-record-batch.ts writes the same bytes
// into one buffer. Everything else stays kafkajs's: connections, metadata, the idempotent producer's
// id, epoch and sequence numbers (assigned before a request is built, rewound on failure), retries,
// acks and the response.
//
// The seam is the Produce entry of kafkajs's request table, which a broker looks up for every produce
// request: the installed entry builds kafkajs's own request and replaces only its encode(). This is the
// one module that reaches into kafkajs's internals. It patches only kafkajs 2.2.4, whose internals it
// was written against, and leaves any other version stock; and it encodes only requests whose every
// message was marked by ownEncoding() and carries nothing our encoder does not write (no compression,
// no timestamps, string keys, Buffer values, string headers), so other kafkajs users in the process,
// and anything unexpected, get kafkajs's own encoding.
import { createRequire } from 'node:module'
import type { Message } from 'kafkajs'
import { encodeProduceRequest } from './kafka-record-batch.ts'
import type { ProducePartition, ProduceTopic } from './kafka-record-batch.ts'

export const SUPPORTED_KAFKAJS_VERSION = '2.2.4'

// Registered symbols, so that two copies of this module in one process (a test runner may load it
// twice) recognise each other's marks and install only once.
const OWN_ENCODING = Symbol.for('perp-indexer.kafka-own-produce-encoding')
const INSTALLED = Symbol.for('perp-indexer.kafka-own-produce-encoding.installed')

/** A kafkajs message that the installed encoder may encode (see ownEncoding). */
type OwnMessage = Message & { [OWN_ENCODING]?: true }

/** kafkajs's arguments to a Produce request, as its broker passes them (protocol/requests/produce). */
interface ProduceArgs {
  readonly acks: number
  readonly timeout: number
  readonly compression?: number
  readonly transactionalId?: string | null
  /** The producer id as kafkajs holds it: -1 before one is assigned, the broker's id as a decimal string after. */
  readonly producerId?: number | string | { readonly value: bigint }
  readonly producerEpoch?: number
  readonly topicData: ReadonlyArray<{
    readonly topic: string
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly firstSequence?: number; readonly messages: readonly OwnMessage[] }>
  }>
}

interface BuiltRequest {
  readonly request: { readonly encode: () => Promise<unknown> }
  readonly response: unknown
}

type RequestBuilder = (args: ProduceArgs) => BuiltRequest
type ProduceDefinition = { protocol: ((options: { version: number }) => RequestBuilder) & { [INSTALLED]?: true } }
type EncoderClass = new () => { buf: Buffer; offset: number }

export type ProduceEncoding = 'own' | 'kafkajs'

/**
 * Marks messages (in place) as ones the installed encoder may encode; returns the same array. A
 * message that is not marked goes through kafkajs's own encoder.
 */
export function ownEncoding<M extends Message>(messages: M[]): M[] {
  for (const message of messages) (message as OwnMessage)[OWN_ENCODING] = true
  return messages
}

/**
 * Installs our encoder into the kafkajs this process loads, once (later calls find it installed).
 * Returns 'kafkajs' without touching anything when kafkajs is not the version it was written for, or
 * its internals are not where that version keeps them; `version` is for tests of that refusal.
 */
export function installProduceEncoding(version?: string): ProduceEncoding {
  const require = createRequire(import.meta.url)
  const installedVersion = version ?? (require('kafkajs/package.json') as { version?: unknown }).version
  if (installedVersion !== SUPPORTED_KAFKAJS_VERSION) return 'kafkajs'
  const definition = require('kafkajs/src/protocol/requests/produce/index.js') as Partial<ProduceDefinition>
  const Encoder = require('kafkajs/src/protocol/encoder.js') as unknown
  if (typeof definition.protocol !== 'function' || typeof Encoder !== 'function') return 'kafkajs'
  if (definition.protocol[INSTALLED] === true) return 'own'
  const stock = definition.protocol
  const protocol = ({ version: apiVersion }: { version: number }): RequestBuilder => {
    const build = stock({ version: apiVersion })
    // Versions 3 to 7 share one body with record batches; older ones carry message sets.
    if (!(Number(apiVersion) >= 3 && Number(apiVersion) <= 7)) return build
    return (args) => {
      const built = build(args)
      if (!encodable(args)) return built
      const encode = async (): Promise<unknown> => wrapInEncoder(Encoder as EncoderClass, encodeProduceRequest(requestBody(args)))
      return { ...built, request: { ...built.request, encode } }
    }
  }
  definition.protocol = Object.assign(protocol, { [INSTALLED]: true as const })
  return 'own'
}

function encodable(args: ProduceArgs): boolean {
  if ((args.compression ?? 0) !== 0) return false
  for (const { partitions } of args.topicData) {
    for (const { messages } of partitions) {
      for (const message of messages) {
        if (message[OWN_ENCODING] !== true || message.timestamp != null) return false
        if (typeof message.key !== 'string' || !Buffer.isBuffer(message.value)) return false
        if (message.headers !== undefined && !Object.values(message.headers).every((v) => typeof v === 'string')) {
          return false
        }
      }
    }
  }
  return true
}

function requestBody(args: ProduceArgs) {
  const topics: ProduceTopic[] = args.topicData.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map(
      ({ partition, firstSequence, messages }): ProducePartition => ({
        partition,
        firstSequence: firstSequence ?? 0,
        // encodable() checked every message's key, value and headers.
        records: messages as ProducePartition['records'],
      }),
    ),
  }))
  return {
    transactionalId: args.transactionalId ?? null,
    acks: args.acks,
    timeoutMs: args.timeout,
    producerId: producerIdOf(args.producerId),
    producerEpoch: args.producerEpoch ?? 0,
    timestamp: Date.now(),
    topics,
  }
}

function producerIdOf(id: ProduceArgs['producerId']): bigint {
  if (id === undefined) return -1n
  return typeof id === 'object' ? id.value : BigInt(id)
}

/** kafkajs's request framing takes an Encoder and copies the bytes it holds. */
function wrapInEncoder(Encoder: EncoderClass, bytes: Buffer): unknown {
  const encoder = new Encoder()
  encoder.buf = bytes
  encoder.offset = bytes.length
  return encoder
}
