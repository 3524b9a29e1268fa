// One Kafka broker for the whole test run, shared by every test file through inject('kafkaBrokers').
// Each file creates its own uniquely named topics, so files do not see each other's records.
//
//   KAFKA_BROKERS=host:port[,...]  use these brokers; start none
//   KAFKA_SKIP_START=1             start none (unit-only runs); Kafka tests skip, saying why
//   REQUIRE_KAFKA=1                a broker that cannot start fails the run instead of skipping (CI)
import type { TestProject } from 'vitest/node'
import { startKafkaBroker } from './kafka-broker.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated host:port list, or '' when no broker is available. */
    kafkaBrokers: string
    /** Why kafkaBrokers is empty ('' when it is not). */
    kafkaUnavailableReason: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const provide = (brokers: string, reason: string): void => {
    project.provide('kafkaBrokers', brokers)
    project.provide('kafkaUnavailableReason', reason)
  }
  const given = process.env['KAFKA_BROKERS']?.trim() ?? ''
  if (given !== '') {
    provide(given, '')
    return async () => {}
  }
  const required = process.env['REQUIRE_KAFKA'] === '1'
  if (process.env['KAFKA_SKIP_START'] === '1') {
    if (required) throw new Error('REQUIRE_KAFKA=1 and KAFKA_SKIP_START=1 contradict each other')
    provide('', 'KAFKA_SKIP_START=1: no Kafka broker was started for this run')
    return async () => {}
  }
  try {
    const broker = await startKafkaBroker({ name: 'perp-indexer-test-kafka' })
    provide(broker.brokers, '')
    return () => broker.stop()
  } catch (error) {
    const reason = `no Kafka broker: ${error instanceof Error ? error.message : String(error)}`
    if (required) throw new Error(`REQUIRE_KAFKA=1 but ${reason}`, { cause: error })
    provide('', reason)
    return async () => {}
  }
}
