// The transport's counters, kept twice on purpose: as plain numbers for counters() (cheap to read in
// tests and the stats endpoint) and in the process's metrics registry for Prometheus.
import type { MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { TransportCloseReason, WsTransportCounters } from '../transport/ws-transport.ts'

export interface TransportMetrics {
  opened(): void
  closed(reason: TransportCloseReason | undefined): void
  sent(frames: number): void
  dropped(): void
  refused(status: number): void
  snapshot(): WsTransportCounters
}

export function createTransportMetrics(metrics: MetricsRegistry): TransportMetrics {
  const openGauge = metrics.gauge('gateway_connections_open', 'WebSocket connections open')
  const closes = metrics.counter('gateway_closes_total', 'WebSocket connections closed by the transport, by reason')
  const framesSent = metrics.counter('gateway_frames_sent_total', 'Text frames handed to sockets (published frames count once per subscriber)')
  const framesDropped = metrics.counter('gateway_frames_dropped_total', 'Frames not queued because the socket was over its backpressure limit')
  const refusals = metrics.counter('gateway_upgrades_refused_total', 'Upgrade requests answered with plain HTTP, by status')
  let open = 0
  let sentTotal = 0
  let droppedTotal = 0
  const closedBy: Record<TransportCloseReason, number> = { backpressure: 0, flood: 0, payload: 0, idle: 0 }
  return {
    opened() {
      open += 1
      openGauge.set(open)
    },
    closed(reason) {
      open -= 1
      openGauge.set(open)
      if (reason === undefined) return
      closedBy[reason] += 1
      closes.inc({ reason })
    },
    sent(frames) {
      sentTotal += frames
      framesSent.inc({}, frames)
    },
    dropped() {
      droppedTotal += 1
      framesDropped.inc()
    },
    refused(status) {
      refusals.inc({ status: String(status) })
    },
    snapshot: () => ({ open, closedBy: { ...closedBy }, framesSent: sentTotal, framesDropped: droppedTotal }),
  }
}
