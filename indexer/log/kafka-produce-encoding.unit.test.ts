import { describe, expect, it } from 'vitest'
import { installProduceEncoding, ownEncoding, SUPPORTED_KAFKAJS_VERSION } from './kafka-produce-encoding.ts'
import { edgeCaseRecords as records, firstBatch, kafkajsVersion, produceDefinition, stockProduceRequest } from './kafka-record-batch.reference.ts'

describe('installProduceEncoding', () => {
  // Each test file runs in a process of its own, so this is kafkajs's own entry.
  const stockProtocol = produceDefinition.protocol
  const messages = () => records(30, 5).map((r) => ({ ...r, partition: 1 }))
  const args = (ms: ReturnType<typeof messages>) => ({
    acks: -1,
    timeout: 30_000,
    compression: 0,
    // As kafkajs's idempotent producer passes it: the id InitProducerId returned, as a decimal string.
    producerId: '77',
    producerEpoch: 1,
    topicData: [{ topic: 'perp.events.v1', partitions: [{ partition: 1, firstSequence: 12, messages: ms }] }],
  })

  it('refuses to patch a kafkajs version it was not written for, leaving the Produce request stock', () => {
    expect(installProduceEncoding('2.2.5')).toBe('kafkajs')
    expect(produceDefinition.protocol).toBe(stockProtocol)
    expect(SUPPORTED_KAFKAJS_VERSION).toBe(kafkajsVersion)
  })

  it('encodes marked messages itself, with the bytes kafkajs would write for them', async () => {
    expect(installProduceEncoding()).toBe('own')
    const installed = produceDefinition.protocol
    expect(installed).not.toBe(stockProtocol)
    expect(installProduceEncoding()).toBe('own')
    expect(produceDefinition.protocol).toBe(installed)
    const plain = messages()
    const marked = args(ownEncoding(plain.map((m) => ({ ...m }))))
    const ownBytes = (await produceDefinition.protocol({ version: 7 })(marked).request.encode()).buffer
    const batch = await firstBatch(ownBytes)
    expect(batch).toMatchObject({ producerId: '77', producerEpoch: 1, firstSequence: 12 })
    const stamp = batch.records[0]!.timestamp
    const stock = await stockProduceRequest(args(plain.map((m) => ({ ...m, timestamp: stamp })))).encode()
    expect(ownBytes.equals(stock.buffer)).toBe(true)
  })

  it('leaves to kafkajs a marked message it does not encode, such as one carrying its own timestamp', async () => {
    expect(installProduceEncoding()).toBe('own')
    const stamped = ownEncoding(messages().map((m) => ({ ...m, timestamp: '5' })))
    const batch = await firstBatch((await produceDefinition.protocol({ version: 7 })(args(stamped)).request.encode()).buffer)
    expect(batch.records.map((r) => r.timestamp)).toEqual(stamped.map(() => '5'))
  })
})
