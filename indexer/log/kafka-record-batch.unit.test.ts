import { describe, expect, it } from 'vitest'
import { encodeProduceRequest } from './kafka-record-batch.ts'
import type { ProduceRequestBody } from './kafka-record-batch.ts'
import { edgeCaseRecords as records, firstBatch, KafkajsLong, stockCrc32c, stockProduceRequest } from './kafka-record-batch.reference.ts'

const TIMESTAMP = 1_764_000_000_123

function body(overrides: Partial<ProduceRequestBody> = {}): ProduceRequestBody {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    producerId: 4_000_000_123n,
    producerEpoch: 3,
    timestamp: TIMESTAMP,
    topics: [
      {
        topic: 'perp.events.v1',
        partitions: [
          { partition: 2, firstSequence: 1_000, records: records(150, 1) },
          { partition: 0, firstSequence: 0, records: records(1, 2) },
        ],
      },
      { topic: 'perp.ticks', partitions: [{ partition: 5, firstSequence: 2_147_483_000, records: records(70, 3) }] },
    ],
    ...overrides,
  }
}

/** What kafkajs itself writes for the same request; every message carries the body's timestamp. */
async function stockBytes(b: ProduceRequestBody): Promise<Buffer> {
  const request = stockProduceRequest({
    acks: b.acks,
    timeout: b.timeoutMs,
    transactionalId: b.transactionalId,
    producerId: KafkajsLong.fromValue(b.producerId),
    producerEpoch: b.producerEpoch,
    topicData: b.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition, firstSequence, records: rs }) => ({
        partition,
        firstSequence,
        messages: rs.map((r) => ({ ...r, timestamp: b.timestamp })),
      })),
    })),
  })
  return (await request.encode()).buffer
}

describe('encodeProduceRequest', () => {
  it('writes byte for byte what kafkajs 2.2.4 writes for the same produce request', async () => {
    const idempotent = body()
    expect(encodeProduceRequest(idempotent).equals(await stockBytes(idempotent))).toBe(true)
    const transactional = body({ transactionalId: 'perp-tx', producerId: -1n, producerEpoch: 0 })
    expect(encodeProduceRequest(transactional).equals(await stockBytes(transactional))).toBe(true)
  })

  it("round-trips every record's key, value, headers, timestamp and offset through kafkajs's own batch decoder", async () => {
    const b = body()
    const sent = b.topics[0]!.partitions[0]!
    const batch = await firstBatch(encodeProduceRequest(b))
    expect(batch).toMatchObject({ producerId: '4000000123', producerEpoch: 3, firstSequence: 1_000, inTransaction: false })
    expect(batch.lastOffsetDelta).toBe(sent.records.length - 1)
    expect(batch.records).toHaveLength(sent.records.length)
    batch.records.forEach((got, i) => {
      const want = sent.records[i]!
      expect(got.key.toString('utf8')).toBe(want.key)
      expect(got.value.equals(want.value)).toBe(true)
      const headers = Object.fromEntries(Object.entries(got.headers).map(([k, v]) => [k, v.toString('utf8')]))
      expect(headers).toEqual(want.headers ?? {})
      expect(got.timestamp).toBe(String(TIMESTAMP))
      expect(got.offset).toBe(String(i))
    })
  })

  it("stores in each batch the CRC-32C of its bytes from the attributes on, as the broker checks it", () => {
    const b = body({ topics: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, records: records(40, 9) }] }] })
    const bytes = encodeProduceRequest(b)
    const batchStart = 2 + 2 + 4 + 4 + 2 + 1 + 4 + 4 + 4
    const batch = bytes.subarray(batchStart)
    expect(batch.readUInt32BE(17)).toBe(stockCrc32c(batch.subarray(21)))
  })
})
