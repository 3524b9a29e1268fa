// The indexer command as a child process, for the crash tests: started with the environment given,
// its structured log lines watched for a message, and killed with whatever signal the test chooses.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..', '..')

export interface IndexerProcess {
  readonly child: ChildProcess
  /** Resolves when a log line with this message appears; rejects on timeout or exit first. */
  waitFor(message: string, timeoutMs: number): Promise<void>
  readonly exited: Promise<number | null>
  stderr(): string
}

/** Small ranges, so a backfill takes many appends and a kill lands in the middle of one. */
export const CRASH_TEST_INDEXER_ENV = {
  BACKFILL_CONCURRENCY: '2',
  BACKFILL_MAX_RANGE: '2',
  FINALITY_DEPTH: '3',
  POLL_INTERVAL_MS: '100',
  METRICS_PORT: '0',
  LOG_LEVEL: 'info',
} as const

/** `indexer/main.ts` in a process of its own; added to `children` until it exits. */
export function startIndexerProcess(env: Readonly<Record<string, string>>, children: Set<ChildProcess>): IndexerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'indexer/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', ...CRASH_TEST_INDEXER_ENV, ...env },
  })
  children.add(child)
  let text = ''
  const waiters: { message: string; resolve: () => void }[] = []
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    text += chunk
    for (const waiter of [...waiters]) if (text.includes(`"msg":"${waiter.message}"`)) waiter.resolve()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => children.delete(child))
  return {
    child,
    exited,
    stderr: () => text,
    waitFor: (message, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (text.includes(`"msg":"${message}"`)) return resolve()
        const timer = setTimeout(() => reject(new Error(`no "${message}" within ${timeoutMs} ms; stderr:\n${text.slice(-3000)}`)), timeoutMs)
        waiters.push({ message, resolve: () => (clearTimeout(timer), resolve()) })
        void exited.then((code) => reject(new Error(`indexer exited (${code}) before "${message}"; stderr:\n${text.slice(-3000)}`)))
      }),
  }
}

export async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
