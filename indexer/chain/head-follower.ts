// Follows the chain's head, by polling eth_getBlockByNumber("latest") over HTTP or through a newHeads
// subscription over a WebSocket. Heads coalesce: the follower keeps only the newest one not yet
// taken, since the live tail catches up to whatever head it is given, block by block.
//
// A subscription reports its loss through onError; the follower then re-subscribes with jittered
// backoff, and after every (re-)subscription reads the latest head once, so a block mined while no
// subscription was live is still seen.
import type { Logger } from '../runtime/logger.ts'
import type { BlockRef } from './chain-types.ts'
import type { ChainRpc } from './chain-rpc.ts'
import { abortableSleep, fullJitterDelay } from './rpc-retry.ts'

export type HeadMode = 'poll' | 'subscribe'

/** Waits between failed polls and re-subscriptions: full jitter below min(max, base · 2^attempt). */
export interface Backoff {
  readonly baseDelayMs: number
  readonly maxDelayMs: number
}

export interface HeadFollowerDeps {
  readonly rpc: ChainRpc
  readonly mode: HeadMode
  /** How often 'poll' asks for the latest head. */
  readonly pollIntervalMs: number
  readonly logger: Logger
  /** Default 100 ms doubling up to 5 s. */
  readonly backoff?: Backoff
}

export interface HeadFollower {
  /** The newest head not taken yet, waiting for one if need be; undefined once stopped. */
  next(): Promise<BlockRef | undefined>
  stop(): Promise<void>
}

/** 'subscribe' was asked of an RPC without subscriptions (an HTTP URL). */
export class HeadSubscriptionUnavailableError extends Error {
  override readonly name = 'HeadSubscriptionUnavailableError'
  constructor() {
    super('head mode "subscribe" needs a WebSocket RPC (ws:// or wss://); this RPC has no newHeads subscription')
  }
}

export const defaultBackoff: Backoff = { baseDelayMs: 100, maxDelayMs: 5_000 }

export function backoffDelay(backoff: Backoff, attempt: number): number {
  return fullJitterDelay(attempt, backoff.baseDelayMs, backoff.maxDelayMs, Math.random)
}

type SubscribeNewHeads = NonNullable<ChainRpc['subscribeNewHeads']>

export function createHeadFollower(deps: HeadFollowerDeps): HeadFollower {
  const { rpc, mode, pollIntervalMs, logger } = deps
  const backoff = deps.backoff ?? defaultBackoff
  const subscribeNewHeads = rpc.subscribeNewHeads
  if (mode === 'subscribe' && subscribeNewHeads === undefined) throw new HeadSubscriptionUnavailableError()
  const abort = new AbortController()
  const stopped = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }))
  let pending: BlockRef | undefined
  let lastOffered: BlockRef | undefined
  let waiter: { resolve: (head: BlockRef | undefined) => void; reject: (error: Error) => void } | undefined
  let failure: Error | undefined

  function offer(head: BlockRef | undefined): void {
    if (head === undefined || abort.signal.aborted) return
    if (lastOffered !== undefined && lastOffered.hash === head.hash) return
    lastOffered = head
    if (waiter === undefined) {
      pending = head
      return
    }
    const wake = waiter
    waiter = undefined
    wake.resolve(head)
  }

  async function pollLoop(): Promise<void> {
    let failures = 0
    while (!abort.signal.aborted) {
      try {
        offer(await rpc.getBlockByNumber('latest'))
        failures = 0
        await abortableSleep(pollIntervalMs, abort.signal)
      } catch (error) {
        if (abort.signal.aborted) return
        logger.warn('polling the latest head failed; retrying', { error: asError(error), attempt: failures + 1 })
        await abortableSleep(backoffDelay(backoff, failures++), abort.signal)
      }
    }
  }

  /** One subscription: resolves once it is lost (after unsubscribing) or the follower stops. */
  async function subscribeOnce(subscribe: SubscribeNewHeads): Promise<void> {
    let lose!: (error: Error) => void
    const lost = new Promise<Error>((resolve) => (lose = resolve))
    const unsubscribe = await subscribe(offer, lose)
    try {
      offer(await rpc.getBlockByNumber('latest'))
      const outcome = await Promise.race([lost, stopped])
      if (outcome instanceof Error) logger.warn('the newHeads subscription was lost; re-subscribing', { error: outcome })
    } finally {
      await unsubscribe().catch((error: unknown) => logger.debug('unsubscribing failed', { error: asError(error) }))
    }
  }

  async function subscribeLoop(subscribe: SubscribeNewHeads): Promise<void> {
    let failures = 0
    while (!abort.signal.aborted) {
      const started = Date.now()
      try {
        await subscribeOnce(subscribe)
      } catch (error) {
        if (abort.signal.aborted) return
        logger.warn('subscribing to newHeads failed; retrying', { error: asError(error), attempt: failures + 1 })
      }
      // A subscription that lived a while resets the backoff; one lost at once counts as a failure.
      failures = Date.now() - started > backoff.maxDelayMs ? 0 : failures + 1
      if (!abort.signal.aborted) await abortableSleep(backoffDelay(backoff, failures - 1), abort.signal)
    }
  }

  const loop = mode === 'poll' ? pollLoop() : subscribeLoop(subscribeNewHeads!)
  // The loops end only when stopped; anything else that ends them fails next(), so no caller waits forever.
  const running = loop.catch((error: unknown) => {
    if (abort.signal.aborted) return
    failure = asError(error)
    waiter?.reject(failure)
    waiter = undefined
  })

  return {
    next: () => {
      if (pending !== undefined) {
        const head = pending
        pending = undefined
        return Promise.resolve(head)
      }
      if (failure !== undefined) return Promise.reject(failure)
      if (abort.signal.aborted) return Promise.resolve(undefined)
      return new Promise((resolve, reject) => (waiter = { resolve, reject }))
    },
    stop: async () => {
      abort.abort()
      waiter?.resolve(undefined)
      waiter = undefined
      await running
    },
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
