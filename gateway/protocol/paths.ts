// The WebSocket paths under /api/v1/ws/ and what the gateway decides from the path alone, before
// any upgrade: an unknown path is a 404, a malformed user address a 400. Whether a market exists is
// not decided here (markets are listed on the log while the gateway runs): the channel answers an
// unknown one with an error frame. Addresses are accepted in any letter case and used lowercase.

export const WS_BASE_PATH = '/api/v1/ws/'

export type Route =
  | { readonly kind: 'prices'; readonly marketId: string }
  | { readonly kind: 'positions'; readonly userAddress: string }
  | { readonly kind: 'liquidations' }
  | { readonly kind: 'market-stats'; readonly marketId: string }
  | { readonly kind: 'events' }

export type RouteResult =
  | { readonly ok: true; readonly route: Route }
  | { readonly ok: false; readonly status: 400 | 404; readonly message: string }

const addressPattern = /^0x[0-9a-fA-F]{40}$/

function notFound(path: string): RouteResult {
  return { ok: false, status: 404, message: `no WebSocket endpoint at ${JSON.stringify(path.slice(0, 200))}` }
}

function routeOf(kind: string, subject: string | undefined): Route | undefined {
  switch (kind) {
    case 'prices':
    case 'market-stats':
      return subject === undefined || subject === '' ? undefined : { kind, marketId: subject }
    case 'positions':
      return subject === undefined || subject === '' ? undefined : { kind, userAddress: subject }
    case 'liquidations':
    case 'events':
      return subject === undefined ? { kind } : undefined
    default:
      return undefined
  }
}

/** The route of a percent-decoded path (one trailing "/" is ignored), or the HTTP answer refusing it. */
export function parseWsPath(path: string): RouteResult {
  if (!path.startsWith(WS_BASE_PATH)) return notFound(path)
  const rest = path.slice(WS_BASE_PATH.length).replace(/\/$/, '')
  const segments = rest.split('/')
  if (segments.length > 2) return notFound(path)
  const [kind = '', subject] = segments
  const route = routeOf(kind, subject)
  if (route === undefined) return notFound(path)
  if (route.kind !== 'positions') return { ok: true, route }
  if (!addressPattern.test(route.userAddress)) {
    return { ok: false, status: 400, message: `malformed user address ${JSON.stringify(route.userAddress.slice(0, 100))}: expected 0x and 40 hex digits` }
  }
  return { ok: true, route: { kind: 'positions', userAddress: route.userAddress.toLowerCase() } }
}

/** The subject a route follows: the market, the user, or nothing for the paths of everything. */
export function subjectOf(route: Route): string | undefined {
  switch (route.kind) {
    case 'prices':
    case 'market-stats':
      return route.marketId
    case 'positions':
      return route.userAddress
    case 'liquidations':
    case 'events':
      return undefined
  }
}

/** The `from` query parameter (a resume cursor), undefined when absent. */
export function resumeParameter(query: string): string | undefined {
  return new URLSearchParams(query).get('from') ?? undefined
}
