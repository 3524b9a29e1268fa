// A small node:http server for the processes that have no gateway of their own (the indexer):
// GET /metrics in Prometheus format, GET /healthz, and extra JSON routes the owner registers.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { prometheusContentType, type MetricsRegistry } from './metrics.ts'

export type JsonRoute = () => unknown | Promise<unknown>

export interface HttpEndpoint {
  readonly port: number
  close(): Promise<void>
}

export interface HttpEndpointOptions {
  readonly host: string
  readonly port: number
  readonly metrics: MetricsRegistry
  readonly routes?: Readonly<Record<string, JsonRoute>>
}

export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<HttpEndpoint> {
  const routes = options.routes ?? {}
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end()
      return
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': prometheusContentType }).end(options.metrics.render())
      return
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      return
    }
    const route = routes[path]
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
      return
    }
    Promise.resolve()
      .then(route)
      .then(
        (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body, bigintAsString)),
        (error: unknown) =>
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) })),
      )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
