// Reconnect delays: exponential from a base up to a cap, as the spec advises (5 s doubling up to
// 60 s), with jitter so that clients dropped together by one server restart do not all come back in
// the same instant. Delays are timing, not money: plain numbers are right here.
import { InvalidClientOptionError } from './client-errors.ts'

export interface BackoffPolicy {
  /** The delay before the first reconnect after a successful connection, before jitter. */
  readonly baseDelayMs: number
  /** No delay is longer than this. */
  readonly maxDelayMs: number
  /**
   * The fraction of each delay that is randomised away: a delay is drawn from
   * [nominal · (1 − jitter), nominal], so it never exceeds the nominal one nor the cap. 0 disables it.
   */
  readonly jitter: number
}

/** The spec's advice: 5 s, doubling, at most 60 s; each delay somewhere in its upper half. */
export const specBackoff: BackoffPolicy = { baseDelayMs: 5_000, maxDelayMs: 60_000, jitter: 0.5 }

export function assertBackoffPolicy(policy: BackoffPolicy): void {
  const { baseDelayMs, maxDelayMs, jitter } = policy
  if (!(Number.isFinite(baseDelayMs) && baseDelayMs > 0)) {
    throw new InvalidClientOptionError('backoff.baseDelayMs', `${baseDelayMs} is not a positive number of milliseconds`)
  }
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= baseDelayMs)) {
    throw new InvalidClientOptionError('backoff.maxDelayMs', `${maxDelayMs} is below baseDelayMs ${baseDelayMs}`)
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new InvalidClientOptionError('backoff.jitter', `${jitter} is not a fraction between 0 and 1`)
  }
}

/** The delay before the next connection attempt, nominally baseDelayMs · 2^attempt but at most maxDelayMs. */
export function nominalDelayMs(attempt: number, policy: BackoffPolicy): number {
  // 2^attempt overflows to Infinity for large attempts, which the cap absorbs.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt)
}

/**
 * The jittered delay before reconnect number `attempt` (0 for the first after a successful
 * connection), given `random` in [0, 1) such as Math.random.
 */
export function reconnectDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const nominal = nominalDelayMs(attempt, policy)
  return Math.round(nominal * (1 - policy.jitter * random()))
}
