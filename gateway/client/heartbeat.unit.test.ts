import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { startHeartbeat } from './heartbeat.ts'

describe('heartbeat', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  function watched() {
    const calls: string[] = []
    const heartbeat = startHeartbeat({ idleMs: 100, timeoutMs: 300 }, { ping: () => calls.push('ping'), timeout: () => calls.push('timeout') })
    return { calls, heartbeat }
  }

  it('pings once per silence, then times out once', () => {
    const { calls } = watched()
    vi.advanceTimersByTime(99)
    expect(calls).toEqual([])
    vi.advanceTimersByTime(26)
    expect(calls).toEqual(['ping'])
    vi.advanceTimersByTime(150)
    expect(calls).toEqual(['ping'])
    vi.advanceTimersByTime(50)
    expect(calls).toEqual(['ping', 'timeout'])
    vi.advanceTimersByTime(1_000)
    expect(calls).toEqual(['ping', 'timeout'])
  })

  it('starts the silence over on every frame, pinging again after the next one', () => {
    const { calls, heartbeat } = watched()
    vi.advanceTimersByTime(125)
    heartbeat.beat()
    vi.advanceTimersByTime(250)
    heartbeat.beat()
    vi.advanceTimersByTime(250)
    expect(calls).toEqual(['ping', 'ping', 'ping'])
  })

  it('does nothing once stopped', () => {
    const { calls, heartbeat } = watched()
    heartbeat.stop()
    vi.advanceTimersByTime(1_000)
    expect(calls).toEqual([])
  })
})
