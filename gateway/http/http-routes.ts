// The gateway's plain HTTP routes: /healthz, /readyz, /metrics, GET /api/v1/ws/stats,
// GET /api/v1/state-hash and the dashboard's files. Anything else is undefined (the transport's 404).
import { prometheusContentType } from '../../indexer/runtime/metrics.ts'
import type { ConsumerOffset } from '../../projections/store/read-model-store.ts'
import type { StatsResponse } from '../protocol/messages.ts'
import type { HttpRequestInfo, HttpResponse } from '../transport/ws-transport.ts'
import { dashboardFile, isDashboardPath } from './dashboard-files.ts'
import type { Readiness } from './readiness.ts'

export interface HttpRoutesDeps {
  readonly stats: () => StatsResponse
  readonly readiness: Readiness
  /** The Prometheus text of the process's registry. */
  readonly metrics: () => string
  /** The committed read models' hash and their offsets, read together. */
  readonly stateHash: () => Promise<{ readonly state_hash: string; readonly offsets: readonly ConsumerOffset[] }>
  readonly dashboardDir: string
}

export type HttpRoutes = (request: HttpRequestInfo) => HttpResponse | Promise<HttpResponse> | undefined

function json(status: number, body: unknown): HttpResponse {
  return { status, contentType: 'application/json', body: JSON.stringify(body) }
}

const notFound = json(404, { success: false, error: 'not found' })

export function createHttpRoutes(deps: HttpRoutesDeps): HttpRoutes {
  const routes: Readonly<Record<string, () => HttpResponse | Promise<HttpResponse>>> = {
    '/healthz': () => json(200, { ok: true }),
    '/readyz': () => (deps.readiness.isReady() ? json(200, { ready: true }) : json(503, { ready: false, behind: deps.readiness.behind() })),
    '/metrics': () => ({ status: 200, contentType: prometheusContentType, body: deps.metrics() }),
    '/api/v1/ws/stats': () => json(200, deps.stats()),
    '/api/v1/state-hash': async () => json(200, await deps.stateHash()),
  }
  return (request) => {
    const route = Object.hasOwn(routes, request.path) ? routes[request.path] : undefined
    if (route === undefined && !isDashboardPath(request.path)) return undefined
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return { status: 405, contentType: 'application/json', body: '{"success":false,"error":"method not allowed"}', headers: { allow: 'GET, HEAD' } }
    }
    if (route !== undefined) return route()
    return dashboardFile(deps.dashboardDir, request.path).then((file) => file ?? notFound)
  }
}
