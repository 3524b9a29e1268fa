// Decodes raw logs of a known ABI straight from their hex strings. Everything that depends only on
// the ABI (topic0, which topic or head word each argument lives in, how to read its type) is worked
// out once when the decoder is built; decoding a log then only slices strings and parses BigInts.
//
// Values are exactly what viem's decodeEventLog returns for a well-formed log (bigint for
// (u)int wider than 48 bits, number up to 48 bits, lowercase hex for bytesN and topic hashes,
// checksummed addresses unless `addresses: 'lowercase'`), so the two are interchangeable. A
// malformed log is rejected, never decoded into garbage: a wrong topic count, data shorter than the
// ABI requires, a dynamic value outside the data, non-hex text, and words that no encoder of the
// declared type produces (a bool other than 0 or 1, dirty high bits of an address or of a narrow
// integer, dirty padding of a bytesN). Data beyond what the ABI reads is ignored, as viem does.
import { checksumAddress, toEventSelector } from 'viem'
import type { Abi, AbiEvent, AbiParameter, ContractEventName, DecodeEventLogReturnType, Hex } from 'viem'
import type { RawLog } from './chain-types.ts'

export type DecodedEventLog<abi extends Abi> = DecodeEventLogReturnType<
  abi,
  ContractEventName<abi>,
  Hex[],
  Hex,
  true
>

export type AddressCase = 'checksum' | 'lowercase'

export interface EventDecoderOptions {
  /**
   * 'checksum' (the default) returns EIP-55 addresses as viem does. 'lowercase' skips the keccak
   * of every address, for callers that store addresses lowercase anyway.
   */
  readonly addresses?: AddressCase
}

export interface EventDecoder<abi extends Abi> {
  /** The topic0 of every event of the ABI, e.g. for an eth_getLogs filter. */
  readonly selectors: readonly Hex[]
  /** undefined when the log has no topic0 or one of no event of the ABI (a foreign log). */
  decode(log: RawLog): DecodedEventLog<abi> | undefined
}

/** A log whose topic0 names an event of the ABI but whose topics or data do not fit it. */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError'
  readonly eventName: string
  readonly transactionHash: string
  /** As the node sent it: a hex quantity. */
  readonly logIndex: string
  readonly issue: string
  constructor(eventName: string, log: RawLog, issue: string, options?: { readonly cause?: unknown }) {
    super(
      `cannot decode ${eventName} at tx ${log.transactionHash} log index ${log.logIndex}: ${issue}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.eventName = eventName
    this.transactionHash = log.transactionHash
    this.logIndex = log.logIndex
    this.issue = issue
  }
}

/** An ABI event the decoder cannot handle; raised when the decoder is built, never per log. */
export class UnsupportedEventError extends Error {
  override readonly name = 'UnsupportedEventError'
  readonly eventName: string
  readonly issue: string
  constructor(eventName: string, issue: string) {
    super(`cannot decode event ${eventName}: ${issue}`)
    this.eventName = eventName
    this.issue = issue
  }
}

/** A value its declared type cannot hold; rewrapped into EventDecodeError with the log's position. */
class MalformedValueError extends Error {
  override readonly name = 'MalformedValueError'
}

/** Reads one argument from `hex` (a whole topic or the whole data, '0x'-prefixed) at char `at`. */
type ValueReader = (hex: string, at: number) => unknown

interface ArgumentPlan {
  readonly name: string
  /** 1.. for an indexed argument, -1 for one in the data. */
  readonly topic: number
  /** Char index of the argument's word: 2 in a topic, 2 + 64 · head slot in the data. */
  readonly at: number
  readonly read: ValueReader
}

interface EventPlan {
  readonly name: string
  readonly topicCount: number
  /** Chars of data, '0x' included, that the head of the data takes. */
  readonly minDataChars: number
  readonly args: readonly ArgumentPlan[]
}

const WORD = 64
const TOPIC_CHARS = 2 + WORD
// Searching for one bad char is far faster in V8 than matching a whole string against ^[…]*$.
const nonLowercaseHexChar = /[^0-9a-f]/
const ZEROS_63 = '0'.repeat(WORD - 1)
const ZEROS_24 = '0'.repeat(WORD - 40)
const TWO_256 = 1n << 256n

export function createEventDecoder<const abi extends Abi>(
  abi: abi,
  options: EventDecoderOptions = {},
): EventDecoder<abi> {
  const readers = createValueReaders(options.addresses ?? 'checksum')
  const plans = new Map<string, EventPlan>()
  for (const item of abi) {
    if (item.type !== 'event') continue
    const selector = toEventSelector(item)
    const existing = plans.get(selector)
    if (existing !== undefined) {
      throw new UnsupportedEventError(item.name, `its topic0 is also that of ${existing.name}`)
    }
    plans.set(selector, planEvent(item, readers))
  }

  const decode = (log: RawLog): DecodedEventLog<abi> | undefined => {
    const topic0 = log.topics[0]
    if (topic0 === undefined) return undefined
    const plan = plans.get(topic0) ?? plans.get(topic0.toLowerCase())
    if (plan === undefined) return undefined
    return decodeWithPlan(plan, log) as DecodedEventLog<abi>
  }
  return { selectors: [...plans.keys()] as Hex[], decode }
}

function decodeWithPlan(plan: EventPlan, log: RawLog): { eventName: string; args: unknown } {
  const { topics, data } = log
  if (topics.length !== plan.topicCount) {
    throw new EventDecodeError(plan.name, log, `expected ${plan.topicCount} topics, got ${topics.length}`)
  }
  if (!data.startsWith('0x') || data.length % 2 !== 0) {
    throw new EventDecodeError(plan.name, log, 'data is not an even-length 0x-prefixed hex string')
  }
  if (data.length < plan.minDataChars) {
    const issue = `data has ${(data.length - 2) / 2} bytes, expected at least ${(plan.minDataChars - 2) / 2}`
    throw new EventDecodeError(plan.name, log, issue)
  }
  // viem returns no args object for an event without inputs.
  if (plan.args.length === 0) return { eventName: plan.name, args: undefined }
  const args: Record<string, unknown> = {}
  let current = ''
  try {
    for (const arg of plan.args) {
      current = arg.name
      args[arg.name] = arg.read(arg.topic < 0 ? data : topicAt(topics, arg.topic), arg.at)
    }
  } catch (cause) {
    const issue = cause instanceof Error ? cause.message : String(cause)
    throw new EventDecodeError(plan.name, log, `argument ${current}: ${issue}`, { cause })
  }
  return { eventName: plan.name, args }
}

function topicAt(topics: readonly Hex[], index: number): string {
  const topic = topics[index]
  if (topic === undefined || topic.length !== TOPIC_CHARS || !topic.startsWith('0x')) {
    throw new MalformedValueError(`topic ${index} is not 32 bytes of 0x-prefixed hex`)
  }
  return topic
}

function planEvent(event: AbiEvent, readers: ValueReaders): EventPlan {
  if (event.anonymous === true) throw new UnsupportedEventError(event.name, 'anonymous events have no topic0')
  const args: ArgumentPlan[] = []
  let topic = 1
  let slot = 0
  for (const input of event.inputs) {
    const name = input.name
    if (name === undefined || name === '') {
      throw new UnsupportedEventError(event.name, `an input of type ${input.type} has no name`)
    }
    const indexed = input.indexed === true
    const read = indexed ? readers.topic(input) : readers.data(input)
    if (read === undefined) {
      const where = indexed ? 'indexed input' : 'input'
      throw new UnsupportedEventError(event.name, `${where} ${name} has unsupported type ${input.type}`)
    }
    args.push(indexed ? { name, topic: topic++, at: 2, read } : { name, topic: -1, at: 2 + WORD * slot++, read })
  }
  return { name: event.name, topicCount: topic, minDataChars: 2 + WORD * slot, args }
}

interface ValueReaders {
  topic(input: AbiParameter): ValueReader | undefined
  data(input: AbiParameter): ValueReader | undefined
}

function createValueReaders(addresses: AddressCase): ValueReaders {
  const wordReader = (type: string): ValueReader | undefined => {
    if (type === 'address') return addressReader(addresses)
    if (type === 'bool') return readBool
    const integer = /^(u?)int(\d+)$/.exec(type)
    if (integer !== null) return integerReader(integer[1] === '', Number(integer[2]))
    const bytes = /^bytes(\d+)$/.exec(type)
    if (bytes !== null) return fixedBytesReader(Number(bytes[1]))
    return undefined
  }
  // Created once: decode() without { stream: true } keeps no state between calls.
  const utf8 = new TextDecoder()
  return {
    // An indexed string or bytes is stored as the keccak of its value; viem returns that hash.
    topic: (input) => (input.type === 'string' || input.type === 'bytes' ? readWordAsHex : wordReader(input.type)),
    data: (input) => {
      if (input.type === 'string') return (hex, at) => utf8.decode(Buffer.from(readTail(hex, at), 'hex'))
      if (input.type === 'bytes') return (hex, at) => `0x${readTail(hex, at)}`
      return wordReader(input.type)
    },
  }
}

/** Nodes send lowercase hex; another casing is accepted and lowercased, as viem's output is. */
function lowercaseHex(hex: string): string {
  if (!nonLowercaseHexChar.test(hex)) return hex
  const lower = hex.toLowerCase()
  if (nonLowercaseHexChar.test(lower)) throw new MalformedValueError(`${JSON.stringify(hex)} is not hex`)
  return lower
}

/**
 * A 32-byte word as an unsigned integer. BigInt() rejects every non-hex char except trailing
 * whitespace, which a hex digit in the last place rules out.
 */
function readUint256(hex: string, at: number): bigint {
  const last = hex.charCodeAt(at + WORD - 1) | 0x20
  if (!((last >= 0x30 && last <= 0x39) || (last >= 0x61 && last <= 0x66))) {
    throw new MalformedValueError(`word ${JSON.stringify(hex.slice(at, at + WORD))} is not hex`)
  }
  try {
    return BigInt(`0x${hex.slice(at, at + WORD)}`)
  } catch (cause) {
    throw new MalformedValueError(`word ${JSON.stringify(hex.slice(at, at + WORD))} is not hex`, { cause })
  }
}

const readWordAsHex: ValueReader = (hex, at) => `0x${lowercaseHex(hex.slice(at, at + WORD))}`

const readBool: ValueReader = (hex, at) => {
  const last = hex.charCodeAt(at + WORD - 1)
  if (!hex.startsWith(ZEROS_63, at) || (last !== 0x30 && last !== 0x31)) {
    throw new MalformedValueError(`bool word 0x${hex.slice(at, at + WORD)} is neither 0 nor 1`)
  }
  return last === 0x31
}

function addressReader(addresses: AddressCase): ValueReader {
  return (hex, at) => {
    if (!hex.startsWith(ZEROS_24, at)) {
      throw new MalformedValueError(`address word 0x${hex.slice(at, at + WORD)} has non-zero high bytes`)
    }
    const address: Hex = `0x${lowercaseHex(hex.slice(at + 24, at + WORD))}`
    return addresses === 'checksum' ? checksumAddress(address) : address
  }
}

function fixedBytesReader(size: number): ValueReader | undefined {
  if (!Number.isInteger(size) || size < 1 || size > 32) return undefined
  const padding = '0'.repeat(WORD - 2 * size)
  return (hex, at) => {
    if (!hex.startsWith(padding, at + 2 * size)) {
      throw new MalformedValueError(`bytes${size} word 0x${hex.slice(at, at + WORD)} has non-zero padding`)
    }
    return `0x${lowercaseHex(hex.slice(at, at + 2 * size))}`
  }
}

function integerReader(signed: boolean, bits: number): ValueReader | undefined {
  if (!Number.isInteger(bits) || bits < 8 || bits > 256 || bits % 8 !== 0) return undefined
  const type = `${signed ? '' : 'u'}int${bits}`
  // viem returns a number for the widths a double holds exactly.
  const asNumber = bits <= 48
  const max = (1n << BigInt(signed ? bits - 1 : bits)) - 1n
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n
  const checked = bits < 256
  return (hex, at) => {
    let value = readUint256(hex, at)
    // Two's complement: the top bit of the 256-bit word is the sign, set iff its first digit is 8-f.
    if (signed && hex.charCodeAt(at) >= 0x38) value -= TWO_256
    if (checked && (value > max || value < min)) {
      throw new MalformedValueError(`word 0x${hex.slice(at, at + WORD)} is out of range for ${type}`)
    }
    return asNumber ? Number(value) : value
  }
}

/**
 * The bytes of a dynamic value as lowercase hex without '0x': the head word at `at` holds its
 * offset from the start of the data, where a length word precedes the bytes themselves.
 */
function readTail(hex: string, at: number): string {
  const dataBytes = (hex.length - 2) / 2
  const offset = readByteCount(hex, at, 'offset', dataBytes - 32)
  const lengthAt = 2 + 2 * offset
  const length = readByteCount(hex, lengthAt, 'length', dataBytes - 32 - offset)
  return lowercaseHex(hex.slice(lengthAt + WORD, lengthAt + WORD + 2 * length))
}

function readByteCount(hex: string, at: number, what: string, max: number): number {
  const value = readUint256(hex, at)
  if (value > BigInt(max)) {
    throw new MalformedValueError(`${what} ${value} runs past the ${(hex.length - 2) / 2}-byte data`)
  }
  return Number(value)
}
