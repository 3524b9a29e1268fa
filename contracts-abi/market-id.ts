// A market is named by a slug such as "btc-usdc-perp" off chain and by a bytes32 on chain: the
// slug's ASCII bytes, left-aligned and zero-padded (as ethers' formatBytes32String). The mapping is
// a bijection between valid slugs and canonical ids, so an id decodes to exactly one slug and
// re-encodes to the same bytes.

export type MarketIdHex = `0x${string}`

/** At most 31 characters, so a terminating zero byte always fits, as formatBytes32String requires. */
const SLUG = /^[a-z0-9][a-z0-9-]{0,30}$/
const BYTES32_HEX = /^0x[0-9a-fA-F]{64}$/

export class InvalidMarketSlugError extends Error {
  override readonly name = 'InvalidMarketSlugError'
  constructor(readonly slug: string) {
    super(`invalid market slug ${JSON.stringify(slug)}: expected ${SLUG.source}`)
  }
}

export class InvalidMarketIdError extends Error {
  override readonly name = 'InvalidMarketIdError'
  constructor(
    readonly marketId: string,
    readonly reason: string,
  ) {
    super(`invalid market id ${JSON.stringify(marketId)}: ${reason}`)
  }
}

export function isMarketSlug(value: string): boolean {
  return SLUG.test(value)
}

export function encodeMarketId(slug: string): MarketIdHex {
  if (!SLUG.test(slug)) throw new InvalidMarketSlugError(slug)
  let hex = ''
  for (let i = 0; i < slug.length; i++) hex += slug.charCodeAt(i).toString(16).padStart(2, '0')
  return `0x${hex.padEnd(64, '0')}`
}

/** Accepts hex digits of either case: case is notation, not part of the bytes32 value. */
export function decodeMarketId(marketId: string): string {
  if (!BYTES32_HEX.test(marketId)) throw new InvalidMarketIdError(marketId, 'expected 0x and 64 hex digits')
  const digits = marketId.slice(2).toLowerCase()
  let slug = ''
  let end = 0
  for (; end < 64; end += 2) {
    const byte = Number.parseInt(digits.slice(end, end + 2), 16)
    if (byte === 0) break
    slug += String.fromCharCode(byte)
  }
  if (!/^0*$/.test(digits.slice(end))) {
    throw new InvalidMarketIdError(marketId, 'non-zero bytes after the zero padding began')
  }
  if (!SLUG.test(slug)) {
    throw new InvalidMarketIdError(marketId, `its text ${JSON.stringify(slug)} is not a market slug`)
  }
  return slug
}
