import { describe, expect, it } from 'vitest'
import { RpcError, type RpcErrorKind } from './chain-rpc.ts'
import { fullJitterDelay, withRetry } from './rpc-retry.ts'

const rpcError = (kind: RpcErrorKind): RpcError => new RpcError(`failed: ${kind}`, kind, 'eth_getLogs')

/** A call that fails with the given errors in turn, then answers 'ok'. */
function failing(errors: readonly unknown[]): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0
  return {
    fn: async () => {
      const error = errors[calls++]
      if (error !== undefined) throw error
      return 'ok'
    },
    calls: () => calls,
  }
}

function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = []
  return { sleep: async (ms) => void waits.push(ms), waits }
}

describe('fullJitterDelay', () => {
  it('draws uniformly below base · 2^attempt', () => {
    expect(fullJitterDelay(0, 100, 10_000, () => 0.5)).toBe(50)
    expect(fullJitterDelay(3, 100, 10_000, () => 0.5)).toBe(400)
    expect(fullJitterDelay(3, 100, 10_000, () => 0)).toBe(0)
    expect(fullJitterDelay(3, 100, 10_000, () => 0.999_999)).toBe(799)
  })

  it('never exceeds the maximum delay, however many attempts failed', () => {
    expect(fullJitterDelay(50, 100, 5_000, () => 0.999_999)).toBeLessThan(5_000)
    expect(fullJitterDelay(1_000, 100, 5_000, () => 0.5)).toBe(2_500)
  })
})

describe('withRetry', () => {
  it('retries every retryable kind and returns the first success', async () => {
    const call = failing([rpcError('rate_limited'), rpcError('server_error'), rpcError('timeout'), rpcError('connection')])
    const { sleep, waits } = recordingSleep()
    const result = await withRetry(call.fn, { baseDelayMs: 100, maxDelayMs: 10_000, random: () => 0.5, sleep })
    expect(result).toBe('ok')
    expect(call.calls()).toBe(5)
    expect(waits).toEqual([50, 100, 200, 400])
  })

  it('does not retry a range to split, a rejection or a foreign error', async () => {
    for (const error of [rpcError('range_too_large'), rpcError('response_too_large'), rpcError('rejected'), new Error('bug')]) {
      const call = failing([error])
      const { sleep, waits } = recordingSleep()
      await expect(withRetry(call.fn, { baseDelayMs: 1, maxDelayMs: 1, sleep })).rejects.toBe(error)
      expect(call.calls()).toBe(1)
      expect(waits).toEqual([])
    }
  })

  it('gives up after maxAttempts with the last error', async () => {
    const last = rpcError('timeout')
    const call = failing([rpcError('timeout'), rpcError('timeout'), last, rpcError('timeout')])
    const { sleep } = recordingSleep()
    await expect(withRetry(call.fn, { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, sleep })).rejects.toBe(last)
    expect(call.calls()).toBe(3)
  })

  it('reports each retry with the failed attempt number and the delay', async () => {
    const call = failing([rpcError('rate_limited'), rpcError('rate_limited')])
    const seen: [RpcErrorKind, number, number][] = []
    await withRetry(call.fn, {
      baseDelayMs: 10,
      maxDelayMs: 1_000,
      random: () => 0.5,
      sleep: async () => {},
      onRetry: (error, attempt, delayMs) => seen.push([error.kind, attempt, delayMs]),
    })
    expect(seen).toEqual([
      ['rate_limited', 1, 5],
      ['rate_limited', 2, 10],
    ])
  })

  it('stops waiting as soon as the signal aborts, with its reason', async () => {
    const controller = new AbortController()
    const call = failing([rpcError('server_error'), rpcError('server_error')])
    const reason = new Error('stopping')
    const pending = withRetry(call.fn, { baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 0.99, signal: controller.signal })
    setTimeout(() => controller.abort(reason), 10)
    await expect(pending).rejects.toBe(reason)
    expect(call.calls()).toBe(1)
  })

  it('does not call at all once the signal has aborted', async () => {
    const controller = new AbortController()
    controller.abort(new Error('already stopped'))
    const call = failing([])
    await expect(withRetry(call.fn, { baseDelayMs: 1, maxDelayMs: 1, signal: controller.signal })).rejects.toThrow('already stopped')
    expect(call.calls()).toBe(0)
  })
})
