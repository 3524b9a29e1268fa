import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RecordIdError, chainEventId, reorgId, tickId } from './record-ids.ts'

const txHash = '0x5194ead3df889a15f3d33e47bcc128114dbb9dcd1147f2de8a8ffba6a815f248'
const ancestor = '0xc2eb276150acee68b12da8387bfdc0a857950e31d3857489ae201b8d9fa40936'
const orphan = '0x95eead294b8060a440bda9c8057ca05d4fb6ff244a8609ac48073a7d01f0aad1'
const btcFeed = 'e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43'

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => `0x${Buffer.from(bytes).toString('hex')}`)

describe('chainEventId', () => {
  it('is "<chain_id>:<tx_hash>:<log_index>"', () => {
    expect(chainEventId(31337, txHash, 4)).toBe(`31337:${txHash}:4`)
  })

  it('does not depend on the case of the hash', () => {
    fc.assert(
      fc.property(hash, fc.nat(), fc.nat(), (tx, chainId, logIndex) => {
        expect(chainEventId(chainId, tx.toUpperCase().replace('0X', '0x'), logIndex)).toBe(chainEventId(chainId, tx, logIndex))
        expect(chainEventId(chainId, tx, logIndex)).toBe(`${chainId}:${tx}:${logIndex}`)
      }),
    )
  })

  it('tells apart logs of different transactions, indices and chains', () => {
    const ids = new Set([
      chainEventId(1, txHash, 0),
      chainEventId(1, txHash, 1),
      chainEventId(10, txHash, 0),
      chainEventId(1, ancestor, 0),
    ])
    expect(ids.size).toBe(4)
  })

  it.each([
    [() => chainEventId(1, '0x1234', 0), /tx hash.*"0x1234"/],
    [() => chainEventId(-1, txHash, 0), /chain id.*-1/],
    [() => chainEventId(1, txHash, 1.5), /log index.*1\.5/],
    [() => chainEventId(1, txHash.slice(2), 0), /tx hash/],
  ])('rejects a malformed part, naming it (%#)', (build, message) => {
    expect(build).toThrow(RecordIdError)
    expect(build).toThrow(message)
  })
})

describe('tickId', () => {
  it('is "pyth:<feed_id>:<publish_time>" with a 0x-prefixed lowercase feed id', () => {
    expect(tickId(`0x${btcFeed}`, 1732615224)).toBe(`pyth:0x${btcFeed}:1732615224`)
  })

  it('accepts the feed id as Hermes sends it, without 0x and in any case', () => {
    expect(tickId(btcFeed, 1732615224)).toBe(`pyth:0x${btcFeed}:1732615224`)
    expect(tickId(btcFeed.toUpperCase(), 1732615224)).toBe(`pyth:0x${btcFeed}:1732615224`)
    expect(tickId(`0X${btcFeed.toUpperCase()}`, 1732615224)).toBe(`pyth:0x${btcFeed}:1732615224`)
  })

  it('rejects a feed id that is not 32 bytes and a publish time that is not a whole second', () => {
    expect(() => tickId('0xabc', 1)).toThrow(/feed id.*"0xabc"/)
    expect(() => tickId(btcFeed, 1732615224.5)).toThrow(/publish time/)
  })
})

describe('reorgId', () => {
  it('is "<chain_id>:reorg:<ancestor>:<first_orphan>:<market_id>"', () => {
    expect(reorgId(31337, ancestor, orphan, 'btc-usdc-perp')).toBe(`31337:reorg:${ancestor}:${orphan}:btc-usdc-perp`)
  })

  it('lowercases the hashes', () => {
    expect(reorgId(31337, ancestor.toUpperCase().replace('0X', '0x'), orphan, 'btc-usdc-perp')).toBe(
      reorgId(31337, ancestor, orphan, 'btc-usdc-perp'),
    )
  })

  it('gives each market its own copy of one reorg', () => {
    expect(reorgId(1, ancestor, orphan, 'btc-usdc-perp')).not.toBe(reorgId(1, ancestor, orphan, 'eth-usdc-perp'))
  })

  it('rejects a market id that is not a slug', () => {
    expect(() => reorgId(1, ancestor, orphan, 'BTC/USDC')).toThrow(/market id.*"BTC\/USDC"/)
    expect(() => reorgId(1, ancestor, '0x00', 'btc-usdc-perp')).toThrow(/first orphaned block hash/)
  })
})
