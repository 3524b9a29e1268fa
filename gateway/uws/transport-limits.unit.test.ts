import { describe, expect, it } from 'vitest'
import { checkTransportLimits } from './transport-limits.ts'
import { TransportLimitsError } from './uws-errors.ts'
import type { WsTransportLimits } from '../transport/ws-transport.ts'

const testLimits: WsTransportLimits = {
  maxConnections: 100,
  maxConnectionsPerIp: 10,
  maxPayloadBytes: 1024,
  maxBackpressureBytes: 65_536,
  idleTimeoutSeconds: 120,
  maxClientFramesPerWindow: 50,
  floodWindowMs: 1000,
}

describe('checkTransportLimits', () => {
  it('accepts limits uWS can enforce, the idle timeout at both ends of its range', () => {
    expect(() => checkTransportLimits(testLimits)).not.toThrow()
    expect(() => checkTransportLimits({ ...testLimits, idleTimeoutSeconds: 8 })).not.toThrow()
    expect(() => checkTransportLimits({ ...testLimits, idleTimeoutSeconds: 960 })).not.toThrow()
  })

  it('refuses an idle timeout uWS would abort the process on, or 0 which never finds dead connections', () => {
    for (const idleTimeoutSeconds of [0, 7, 961, 8.5]) {
      expect(() => checkTransportLimits({ ...testLimits, idleTimeoutSeconds })).toThrowError(TransportLimitsError)
    }
    expect(() => checkTransportLimits({ ...testLimits, idleTimeoutSeconds: 4 })).toThrowError(/idleTimeoutSeconds=4/)
  })

  it('refuses a cap, size or window that is not a positive integer, naming it', () => {
    expect(() => checkTransportLimits({ ...testLimits, maxConnectionsPerIp: 0 })).toThrowError(/maxConnectionsPerIp=0/)
    expect(() => checkTransportLimits({ ...testLimits, maxPayloadBytes: -1 })).toThrowError(/maxPayloadBytes/)
    expect(() => checkTransportLimits({ ...testLimits, floodWindowMs: Number.NaN })).toThrowError(/floodWindowMs/)
  })
})
