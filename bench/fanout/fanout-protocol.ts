// What the fanout benchmark's processes say to each other over IPC, and the frame they measure.
// Every frame starts with `{"t":` and 16 digits: the microseconds of the monotonic clock when the
// server built it (CLOCK_MONOTONIC is one clock for every process of the machine), so a client reads
// a frame's latency from fixed offsets without parsing JSON.

export type ServerKind = 'uws' | 'ws'

export const TOPIC = 'prices/btc-usdc-perp'
export const PATH = '/api/v1/ws/prices/btc-usdc-perp'
export const STAMP_OFFSET = 5
export const STAMP_DIGITS = 16

/** The monotonic clock in microseconds. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/** A price_update frame of the WebSocket API, stamped with `micros` in front. */
export function stampedFrame(micros: number, price: string): string {
  return (
    `{"t":${String(micros).padStart(STAMP_DIGITS, '0')},"type":"price_update","market_id":"btc-usdc-perp",` +
    `"symbol":"BTC/USDC","price":"${price}","confidence":"10.25","timestamp":1705330800,"age_seconds":1}`
  )
}

export type ServerCommand =
  | { readonly type: 'rss' }
  | { readonly type: 'run'; readonly rate: number; readonly durationMs: number }
  | { readonly type: 'stop' }

export type ServerReply =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'rss'; readonly rss: number; readonly open: number }
  | {
      readonly type: 'ran'
      readonly published: number
      readonly wallMs: number
      readonly cpuMs: number
      /** How long each publish call took: the server writing one frame to every subscriber. */
      readonly publishHistogram: Uint32Array
    }

export type ClientCommand =
  | { readonly type: 'connect'; readonly port: number; readonly sockets: number; readonly localAddress: string }
  | { readonly type: 'reset' }
  | { readonly type: 'count' }
  | { readonly type: 'report' }
  | { readonly type: 'stop' }

export type ClientReply =
  | { readonly type: 'connected'; readonly open: number }
  | { readonly type: 'count'; readonly received: number }
  | { readonly type: 'report'; readonly received: number; readonly histogram: Uint32Array; readonly cpuMs: number }
