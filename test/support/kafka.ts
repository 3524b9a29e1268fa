// What a Kafka test file needs from the run's broker (test/support/kafka-global-setup.ts):
//
//   const { brokers, skipReason } = kafkaBrokersOrSkip()
//   describe.skipIf(brokers.length === 0)('kafka log', () => { ... })
//
// When there is no broker the reason is printed once per file, so a skipped suite says why.
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'

export interface KafkaTestBrokers {
  /** Empty when no broker is available. */
  readonly brokers: readonly string[]
  /** Why `brokers` is empty ('' when it is not). */
  readonly skipReason: string
}

export function kafkaBrokersOrSkip(): KafkaTestBrokers {
  const brokers = inject('kafkaBrokers')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '')
  if (brokers.length > 0) return { brokers, skipReason: '' }
  const skipReason = inject('kafkaUnavailableReason') || 'no Kafka broker was provided'
  console.warn(`Kafka tests skipped: ${skipReason}`)
  return { brokers, skipReason }
}

/** A topic name no other test (or earlier run against the same broker) uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`
}
