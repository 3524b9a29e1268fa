import { describe, expect, it } from 'vitest'
import { LISTEN_GIVE_UP_AFTER_MS, listenWithRetry, portUse } from './listen-retry.ts'

/** A clock that only moves when the retry sleeps. */
function fakeTime() {
  let now = 0
  const waits: number[] = []
  return { waits, now: () => now, sleep: async (ms: number) => void (waits.push(ms), (now += ms)) }
}

describe('listenWithRetry', () => {
  it('returns the port of the first bind that succeeds, retrying while the port is only blocked by TIME_WAIT', async () => {
    const time = fakeTime()
    const results: (number | false)[] = [false, false, false, 8000]
    const port = await listenWithRetry({ attempt: async () => results.shift()!, onlyTimeWaitInTheWay: async () => true, ...time })
    expect(port).toBe(8000)
    expect(time.waits).toEqual([250, 500, 1000])
  })

  it('fails at once when another listener holds the port', async () => {
    const time = fakeTime()
    let attempts = 0
    const port = await listenWithRetry({ attempt: async () => (attempts++, false), onlyTimeWaitInTheWay: async () => false, ...time })
    expect(port).toBe(false)
    expect(attempts).toBe(1)
    expect(time.waits).toEqual([])
  })

  it('gives up once retrying would outlast TIME_WAIT, with waits capped at 4 s', async () => {
    const time = fakeTime()
    const retries: number[] = []
    const port = await listenWithRetry({ attempt: async () => false, onlyTimeWaitInTheWay: async () => true, onRetry: (n) => retries.push(n), ...time })
    expect(port).toBe(false)
    expect(Math.max(...time.waits)).toBe(4_000)
    const waited = time.waits.reduce((a, b) => a + b, 0)
    expect(waited).toBeLessThanOrEqual(LISTEN_GIVE_UP_AFTER_MS)
    expect(waited).toBeGreaterThan(LISTEN_GIVE_UP_AFTER_MS - 4_000)
    expect(retries).toEqual(time.waits.map((_, i) => i + 1))
  })
})

describe('portUse', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 142 1 0 100 0 0 10 0',
    '   1: 0100007F:1F41 0100007F:9968 06 00000000:00000000 03:00000D10 00000000     0        0 0 3 0',
    '   2: 0100007F:1F41 0100007F:9969 06 00000000:00000000 03:00000D10 00000000     0        0 0 3 0',
    '   3: 0100007F:1F42 0100007F:996A 01 00000000:00000000 00:00000000 00000000     0        0 0 3 0',
  ].join('\n')
  const tcp6 = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue',
    '   0: 0000000000000000FFFF00000100007F:1F43 0000000000000000FFFF00000100007F:9E39 06 00000000:00000000',
  ].join('\n')

  it('tells a port held by a listener from one blocked by TIME_WAIT connections alone, in both tables', () => {
    expect(portUse([tcp, tcp6], 0x1f40)).toBe('listener')
    expect(portUse([tcp, tcp6], 0x1f41)).toBe('time-wait')
    expect(portUse([tcp, tcp6], 0x1f43)).toBe('time-wait')
    expect(portUse([tcp, tcp6], 0x1f42)).toBe('none')
    expect(portUse([tcp, tcp6], 9999)).toBe('none')
  })
})
