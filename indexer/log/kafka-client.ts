// The kafkajs client the Kafka log is built on: bounded connection attempts, so an unreachable
// cluster fails a call in seconds instead of retrying for minutes, and kafkajs's own logging routed
// into our structured logger instead of the console.
import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs'
import type { LogEntry, logCreator } from 'kafkajs'
import type { Logger, LogFields } from '../runtime/logger.ts'
import { LogUnavailableError, UnknownTopicError } from './log-errors.ts'

export interface KafkaClientOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly logger: Logger
  /** Time allowed to open a TCP connection to one broker (default 3000). */
  readonly connectionTimeoutMs?: number
  /** Time allowed for one request, a produce of a large batch included (default 30000). */
  readonly requestTimeoutMs?: number
}

/** Attempts after the first one; with the back-off below, about 5 s before a call gives up. */
export const KAFKA_CLIENT_RETRIES = 4

export function createKafkaClient(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    enforceRequestTimeout: true,
    retry: { retries: KAFKA_CLIENT_RETRIES, initialRetryTime: 300, maxRetryTime: 3000 },
    logLevel: options.logger.level === 'debug' ? KafkaLogLevel.INFO : KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(options.logger),
  })
}

// Messages kafkajs logs as warnings about choices this module makes on purpose.
const EXPECTED_WARNINGS = ['Limiting retries for the idempotent producer', 'KafkaJS v2.0.0 switched default partitioner']

/**
 * kafkajs logs every failed request at ERROR and then retries or rejects the call, which reaches our
 * caller as an error anyway; so its errors are our warnings, and per-connection chatter is debug.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _logger, stack: _stack, ...rest } = log
      const fields: LogFields = { kafkaNamespace: namespace, ...rest }
      const quiet = namespace === 'Connection' || EXPECTED_WARNINGS.some((w) => message.startsWith(w))
      if (level >= KafkaLogLevel.INFO || quiet) logger.debug(`kafkajs: ${message}`, fields)
      else logger.warn(`kafkajs: ${message}`, fields)
    }
}

// kafkajs error names that mean no broker could be reached or none answered in time.
const UNAVAILABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
])

function errorChain(error: unknown): Error[] {
  const chain: Error[] = []
  let current: unknown = error
  while (current instanceof Error && chain.length < 10) {
    chain.push(current)
    current = current.cause
  }
  return chain
}

function protocolType(error: Error): unknown {
  return 'type' in error ? error.type : undefined
}

export function isUnknownTopic(error: unknown): boolean {
  return errorChain(error).some((e) => protocolType(e) === 'UNKNOWN_TOPIC_OR_PARTITION')
}

/**
 * The error a Log call rejects with: LogUnavailableError when the brokers could not be reached,
 * UnknownTopicError when `topic` is given and Kafka does not know it, else the kafkajs error.
 */
export function translateKafkaError(error: unknown, brokers: readonly string[], topic?: string): unknown {
  // Errors of our own (an onBatch failure, one translated already) pass through untouched.
  if (!(error instanceof Error) || !error.name.startsWith('KafkaJS')) return error
  const chain = errorChain(error)
  if (chain.some((e) => UNAVAILABLE.has(e.name))) return new LogUnavailableError(brokers, { cause: error })
  if (topic !== undefined && isUnknownTopic(error)) return new UnknownTopicError(topic, { cause: error })
  return error
}
