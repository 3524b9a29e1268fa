import { describe, expect, it } from 'vitest'
import { createConnectionRegistry } from './connection-registry.ts'

describe('createConnectionRegistry', () => {
  it('refuses a peer at its per-address cap with 429 while other addresses may still open', () => {
    const registry = createConnectionRegistry<{ ip: string }>({ maxConnections: 10, maxConnectionsPerIp: 2 })
    registry.add({ ip: '10.0.0.1' })
    registry.add({ ip: '10.0.0.1' })
    expect(registry.refusal('10.0.0.1')).toEqual({ status: 429, body: 'too many connections from this address' })
    expect(registry.refusal('10.0.0.2')).toBeUndefined()
  })

  it('refuses everyone at the total cap with 503, and frees a slot when a connection is removed', () => {
    const registry = createConnectionRegistry<{ ip: string }>({ maxConnections: 2, maxConnectionsPerIp: 2 })
    const first = { ip: 'a' }
    registry.add(first)
    registry.add({ ip: 'b' })
    expect(registry.refusal('c')?.status).toBe(503)
    registry.remove(first)
    expect(registry.refusal('c')).toBeUndefined()
    expect(registry.all()).toEqual([{ ip: 'b' }])
  })

  it('counts a connection removed twice once', () => {
    const registry = createConnectionRegistry<{ ip: string }>({ maxConnections: 5, maxConnectionsPerIp: 1 })
    const a1 = { ip: 'a' }
    registry.add(a1)
    registry.remove(a1)
    registry.remove(a1)
    const a2 = { ip: 'a' }
    registry.add(a2)
    expect(registry.refusal('a')?.status).toBe(429)
  })
})
