// The URL of each path under the API's WebSocket base (the spec's ws://host:8000/api/v1/ws), with
// ?from=<cursor> when a subscription resumes. Arguments are validated here, at subscribe time, with
// the same field schemas the server's frames use, so a typo fails at once instead of reconnecting
// forever against a path the server refuses.
import { addressField, cursor as cursorField, marketIdField } from '../protocol/messages.ts'
import type { PathKind } from '../protocol/messages.ts'
import { InvalidClientOptionError, InvalidSubscriptionError } from './client-errors.ts'

/** A parsed ws:// or wss:// base URL. */
export function parseBaseUrl(baseUrl: string): URL {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch (error) {
    throw new InvalidClientOptionError('baseUrl', `${JSON.stringify(baseUrl)} is not a URL`, { cause: error })
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new InvalidClientOptionError('baseUrl', `${JSON.stringify(baseUrl)} is not a ws:// or wss:// URL`)
  }
  return url
}

export function validMarketId(marketId: string): string {
  if (!marketIdField.safeParse(marketId).success) throw new InvalidSubscriptionError('market id', marketId)
  return marketId
}

/** The address in the lowercase form the server keys positions by. */
export function validUserAddress(userAddress: string): string {
  const lower = userAddress.toLowerCase()
  if (!addressField.safeParse(lower).success) throw new InvalidSubscriptionError('user address', userAddress)
  return lower
}

export function validCursor(from: string | undefined): string | undefined {
  if (from !== undefined && !cursorField.safeParse(from).success) throw new InvalidSubscriptionError('cursor', from)
  return from
}

/** e.g. ws://localhost:8000/api/v1/ws + prices, btc-usdc-perp → ws://localhost:8000/api/v1/ws/prices/btc-usdc-perp */
export function subscriptionUrl(base: URL, path: PathKind, parameter: string | undefined, cursor: string | undefined): string {
  const url = new URL(base.href)
  const segments = parameter === undefined ? [path] : [path, encodeURIComponent(parameter)]
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${segments.join('/')}`
  if (cursor !== undefined) url.searchParams.set('from', cursor)
  return url.href
}
