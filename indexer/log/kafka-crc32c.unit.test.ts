import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { crc32c } from './kafka-crc32c.ts'
import { stockCrc32c } from './kafka-record-batch.reference.ts'

describe('crc32c', () => {
  it('gives the standard check value of CRC-32C and agrees with kafkajs at every length and alignment', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283)
    const bytes = randomBytes(300)
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= bytes.length; end += 7) {
        expect(crc32c(bytes, start, end)).toBe(stockCrc32c(bytes.subarray(start, end)))
      }
    }
  })
})
