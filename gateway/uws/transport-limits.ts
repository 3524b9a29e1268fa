// The limits as uWebSockets.js can enforce them. uWS terminates the whole process (std::terminate)
// on an idleTimeout between 1 and 7 or above 960 seconds, so bad values are refused here with an
// error instead; an idle timeout of 0 (never) is refused too, since dead connections must be found.
import type { WsTransportLimits } from '../transport/ws-transport.ts'
import { TransportLimitsError } from './uws-errors.ts'

export const MIN_IDLE_TIMEOUT_SECONDS = 8
export const MAX_IDLE_TIMEOUT_SECONDS = 960

/** Throws TransportLimitsError naming the first limit that is not enforceable as given. */
export function checkTransportLimits(limits: WsTransportLimits): void {
  const positive: readonly (keyof WsTransportLimits)[] = [
    'maxConnections',
    'maxConnectionsPerIp',
    'maxPayloadBytes',
    'maxBackpressureBytes',
    'maxClientFramesPerWindow',
    'floodWindowMs',
  ]
  for (const name of positive) {
    const value = limits[name]
    if (!Number.isSafeInteger(value) || value < 1) throw new TransportLimitsError(name, value, 'a positive integer')
  }
  const idle = limits.idleTimeoutSeconds
  if (!Number.isSafeInteger(idle) || idle < MIN_IDLE_TIMEOUT_SECONDS || idle > MAX_IDLE_TIMEOUT_SECONDS) {
    throw new TransportLimitsError(
      'idleTimeoutSeconds',
      idle,
      `an integer from ${MIN_IDLE_TIMEOUT_SECONDS} to ${MAX_IDLE_TIMEOUT_SECONDS} (uWS's range)`,
    )
  }
}
