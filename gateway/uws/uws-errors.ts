// Errors of the uWebSockets.js transport. Each names the bad input in a short message and keeps the
// underlying `cause`.

/** uWebSockets.js loaded its JavaScript fallback (or something else) instead of the native addon. */
export class UwsNotNativeError extends Error {
  override readonly name = 'UwsNotNativeError'
  constructor(detail: string, options?: ErrorOptions) {
    super(
      `uWebSockets.js is not the native addon (${detail}); the package falls back silently to a slow ` +
        `JavaScript server when its binary does not load for this platform, arch and Node ABI ` +
        `(${process.platform}-${process.arch}, modules ${process.versions.modules}) or when UWS_USE_FALLBACK is set`,
      options,
    )
  }
}

/** A WsTransportLimits member the transport cannot enforce as given. */
export class TransportLimitsError extends Error {
  override readonly name = 'TransportLimitsError'
  readonly limit: string
  constructor(limit: string, value: number, expected: string) {
    super(`bad transport limit ${limit}=${value}: expected ${expected}`)
    this.limit = limit
  }
}

/** listen() could not bind host:port. */
export class UwsListenError extends Error {
  override readonly name = 'UwsListenError'
  readonly host: string
  readonly port: number
  constructor(host: string, port: number, options?: ErrorOptions) {
    super(`could not listen on ${host}:${port}`, options)
    this.host = host
    this.port = port
  }
}
