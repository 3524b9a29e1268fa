// The markets listed on the local chain (DESIGN.md, "Markets on the local chain"). Ratios are exact
// decimal strings; the contract stores them as 18-decimal fixed point (0.05 -> 5e16).

export interface MarketSpec {
  /** The market slug; on chain it is encodeMarketId(id). */
  readonly id: string
  readonly symbol: string
  /** Hermes' name for the price feed the mark price follows. */
  readonly pythSymbol: string
  readonly pythFeedId: `0x${string}`
  readonly maintenanceMarginRatio: string
  readonly liquidationFeeRatio: string
}

export const markets = [
  {
    id: 'btc-usdc-perp',
    symbol: 'BTC/USDC',
    pythSymbol: 'Crypto.BTC/USD',
    pythFeedId: '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43',
    maintenanceMarginRatio: '0.05',
    liquidationFeeRatio: '0.01',
  },
  {
    id: 'eth-usdc-perp',
    symbol: 'ETH/USDC',
    pythSymbol: 'Crypto.ETH/USD',
    pythFeedId: '0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace',
    maintenanceMarginRatio: '0.05',
    liquidationFeeRatio: '0.01',
  },
  {
    id: 'sol-usdc-perp',
    symbol: 'SOL/USDC',
    pythSymbol: 'Crypto.SOL/USD',
    pythFeedId: '0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d',
    maintenanceMarginRatio: '0.05',
    liquidationFeeRatio: '0.01',
  },
] as const satisfies readonly MarketSpec[]

export type LocalMarketId = (typeof markets)[number]['id']
