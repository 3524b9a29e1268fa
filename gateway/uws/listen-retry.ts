// Listening again on a port this host just served from. uWebSockets.js 20.30 binds without
// SO_REUSEADDR, so while the connections a previous server closed sit in TIME_WAIT (about 60 s on
// Linux) its bind fails, though nothing listens there; and since those connections were accepted
// from a listener without SO_REUSEADDR, no other listener may bind the port either. The kernel's
// socket table tells the cases apart: when the port has TIME_WAIT entries and no listener, the
// listen is tried again with backoff until it has lasted longer than TIME_WAIT can; when a listener
// holds the port (or the table cannot be read), the error comes at once.
import { readFile } from 'node:fs/promises'

export interface ListenRetryOptions {
  /** One bind attempt: the bound port, or false when the bind failed. */
  readonly attempt: () => Promise<number | false>
  /** Whether only connections in TIME_WAIT keep the port from binding (no listener holds it). */
  readonly onlyTimeWaitInTheWay: () => Promise<boolean>
  /** Told before each wait, with the attempt number and the wait in ms. */
  readonly onRetry?: (attempt: number, waitMs: number) => void
  readonly sleep?: (ms: number) => Promise<void>
  /** Longer than Linux's TIME_WAIT of 60 s. */
  readonly giveUpAfterMs?: number
  readonly now?: () => number
}

export const LISTEN_GIVE_UP_AFTER_MS = 65_000
const FIRST_WAIT_MS = 250
const MAX_WAIT_MS = 4_000

/** The bound port, or false once the port is held by a listener or the retries ran out. */
export async function listenWithRetry(options: ListenRetryOptions): Promise<number | false> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const now = options.now ?? Date.now
  const deadline = now() + (options.giveUpAfterMs ?? LISTEN_GIVE_UP_AFTER_MS)
  let wait = FIRST_WAIT_MS
  for (let attempt = 1; ; attempt++) {
    const port = await options.attempt()
    if (port !== false) return port
    if (now() + wait > deadline || !(await options.onlyTimeWaitInTheWay())) return false
    options.onRetry?.(attempt, wait)
    await sleep(wait)
    wait = Math.min(wait * 2, MAX_WAIT_MS)
  }
}

const LISTEN = 0x0a
const TIME_WAIT = 0x06

/**
 * What the socket tables (the text of /proc/net/tcp and /proc/net/tcp6) hold for a local port:
 * 'listener' when any socket listens on it, else 'time-wait' when connections of it are in TIME_WAIT.
 */
export function portUse(tables: readonly string[], port: number): 'listener' | 'time-wait' | 'none' {
  let timeWait = false
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/)
      if (local === undefined || state === undefined) continue
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) !== port) continue
      const st = Number.parseInt(state, 16)
      if (st === LISTEN) return 'listener'
      if (st === TIME_WAIT) timeWait = true
    }
  }
  return timeWait ? 'time-wait' : 'none'
}

/** Whether the kernel shows TIME_WAIT connections and no listener on the port (false when it cannot tell). */
export async function onlyTimeWaitOn(port: number): Promise<boolean> {
  try {
    const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((path) => readFile(path, 'utf8').catch(() => '')))
    return portUse(tables, port) === 'time-wait'
  } catch {
    return false
  }
}
