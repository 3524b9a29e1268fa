import { createRequire } from 'node:module'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { murmur2, partitionForKey, toPositive } from './partitioner.ts'

// kafkajs's own murmur2 (a port of the Java client's), the reference this partitioner must match.
const require = createRequire(import.meta.url)
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer | string,
) => number

describe('murmur2', () => {
  // The vectors of Kafka's UtilsTest.testMurmur2, plus the markets' keys.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
    ['', 275646681],
    ['btc-usdc-perp', 357429774],
    ['eth-usdc-perp', 1881277868],
    ['sol-usdc-perp', 606511864],
    ['é€😀', -232818566],
  ])('hashes %j to the Java client value %i', (key, hash) => {
    expect(murmur2(Buffer.from(key, 'utf8'))).toBe(hash)
  })

  it('equals kafkajs murmur2 on random byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(murmur2(bytes)).toBe(kafkajsMurmur2(Buffer.from(bytes)))
      }),
      { numRuns: 2000 },
    )
  })

  it('equals kafkajs murmur2 on random unicode keys encoded as UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (key) => {
        expect(murmur2(Buffer.from(key, 'utf8'))).toBe(kafkajsMurmur2(key))
      }),
      { numRuns: 2000 },
    )
  })
})

describe('partitionForKey', () => {
  it('picks the partitions the Java client picks for the market keys', () => {
    expect([partitionForKey('btc-usdc-perp', 3), partitionForKey('eth-usdc-perp', 3), partitionForKey('sol-usdc-perp', 3)]).toEqual([0, 2, 1])
    expect(partitionForKey('foobar', 12)).toBe(6)
    expect(partitionForKey('21', 12)).toBe(0)
  })

  it('clears the sign bit rather than taking the absolute value', () => {
    expect(toPositive(-1)).toBe(0x7fffffff)
    expect(toPositive(-2147483648)).toBe(0)
    expect(partitionForKey('a-little-bit-longer-string', 7)).toBe((-1486304829 & 0x7fffffff) % 7)
  })

  it('agrees with kafkajs DefaultPartitioner on random keys and partition counts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (key, partitions) => {
        expect(partitionForKey(key, partitions)).toBe(toPositive(kafkajsMurmur2(key)) % partitions)
      }),
      { numRuns: 2000 },
    )
  })

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError)
    expect(() => partitionForKey('k', 1.5)).toThrow(RangeError)
  })
})
