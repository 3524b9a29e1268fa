// The gateway's WebSocket transport on uWebSockets.js. This folder is the only place that imports
// uWS, so every uWS rule lives here: the native addon or nothing (native-check), limits checked
// against what uWS can enforce (transport-limits), sockets by socket-behavior, plain HTTP by
// http-bridge. Fan-out is uWS's own topic publish: one call, no JavaScript per subscriber; a
// subscriber over its backpressure limit is closed by uWS (closeOnBackpressureLimit).
import uws from 'uWebSockets.js'
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js'
import type { Logger } from '../../indexer/runtime/logger.ts'
import type { MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { WsHandlers, WsTransport, WsTransportLimits } from '../transport/ws-transport.ts'
import { createConnectionRegistry } from './connection-registry.ts'
import { serveHttp } from './http-bridge.ts'
import { assertNativeUws } from './native-check.ts'
import { createSocketBehavior } from './socket-behavior.ts'
import { createTransportMetrics } from './transport-metrics.ts'
import { checkTransportLimits } from './transport-limits.ts'
import type { SocketData, UwsConnection } from './uws-connection.ts'
import { UwsListenError } from './uws-errors.ts'
import { listenWithRetry, onlyTimeWaitOn } from './listen-retry.ts'

export interface UwsTransportDeps {
  readonly logger: Logger
  readonly metrics: MetricsRegistry
}

/** The native App has close() (every socket, HTTP keep-alive included); this package's typings lack it. */
interface ClosableApp extends TemplatedApp {
  close(): void
}

const CLOSE_GOING_AWAY = 1001

/** Throws TransportLimitsError for limits uWS cannot enforce, UwsNotNativeError on the JS fallback. */
export function createUwsTransport<C>(handlers: WsHandlers<C>, limits: WsTransportLimits, deps: UwsTransportDeps): WsTransport {
  checkTransportLimits(limits)
  assertNativeUws(uws)
  const logger = deps.logger.child({ component: 'uws-transport' })
  const counts = createTransportMetrics(deps.metrics)
  const registry = createConnectionRegistry<UwsConnection<C>>(limits)
  const app = uws.App() as ClosableApp
  let listenSocket: us_listen_socket | undefined

  app.ws<SocketData<C>>('/*', createSocketBehavior({ handlers, limits, registry, counts, logger }))
  // Requests on the WebSocket route that are not upgrades fall through to here.
  app.any('/*', (res, req) => serveHttp(res, req, handlers.http, logger))

  return {
    async listen(host, port) {
      const attempt = (): Promise<number | false> =>
        new Promise((resolve) => {
          app.listen(host, port, (socket) => {
            if (socket === false) return resolve(false)
            listenSocket = socket
            // The listen socket is a us_socket to uSockets; the typings keep the two apart.
            resolve(uws.us_socket_local_port(socket as us_socket))
          })
        })
      const bound = await listenWithRetry({
        attempt,
        onlyTimeWaitInTheWay: () => onlyTimeWaitOn(port),
        onRetry: (n, waitMs) => logger.warn('port not bindable yet (connections of a previous server in TIME_WAIT); retrying', { host, port, attempt: n, waitMs }),
      })
      if (bound === false) throw new UwsListenError(host, port)
      logger.info('listening', { host, port: bound })
      return bound
    },
    publish(topic, text) {
      const subscribers = app.numSubscribers(topic)
      if (subscribers === 0) return
      app.publish(topic, text, false, false)
      counts.sent(subscribers)
    },
    counters: () => counts.snapshot(),
    async close() {
      if (listenSocket !== undefined) uws.us_listen_socket_close(listenSocket)
      listenSocket = undefined
      for (const connection of registry.all()) connection.close(CLOSE_GOING_AWAY, 'server shutting down')
      app.close()
      // uWS ends sockets on its loop; one turn lets their close reach the kernel before callers check.
      await new Promise<void>((resolve) => setImmediate(resolve))
    },
  }
}
