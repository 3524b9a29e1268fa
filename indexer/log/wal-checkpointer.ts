// Checkpoints the embedded log's WAL from a worker thread with a connection of its own, so the
// thread that appends does not. SQLite's automatic checkpoint runs inside the commit that crosses
// its threshold: the appending thread then copies the WAL's pages into the database file and waits
// for two fsyncs. A PASSIVE checkpoint from another connection copies the same pages beside the
// writer without blocking it or any reader. Measured on a backfill into the log, ten runs of each in
// turns in one process: the main thread's CPU 8.0 -> 6.6 us per event (medians), 92k -> 101k events/s.
//
// The WAL restarts from its beginning only at a write that finds every frame copied. A busy writer
// seldom does (a copy still running when its next write begins leaves frames behind), so the
// writer's own checkpoint at its raised threshold is what restarts the WAL then; by that time the
// worker has copied nearly every frame, so it finds almost nothing left to copy.
//
// The worker starts only once a log has appended CHECKPOINT_EVERY_BYTES, so a process that writes
// little (a test, a live tail between bursts) never pays for a thread. While it runs, the writer's
// own automatic checkpoint stays armed at a higher threshold, so the WAL stays bounded even if the
// worker falls behind; if the worker fails, the writer's threshold goes back to SQLite's default.
// Durability is the writer's: each commit is fsynced in the WAL before the append resolves.
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'

const WORKER = new URL('./wal-checkpoint-worker.mjs', import.meta.url)

/** Value bytes appended between two background checkpoints: about half of SQLite's default 1000-page threshold at 16 KiB pages. */
export const CHECKPOINT_EVERY_BYTES = 8 * 1024 * 1024
/** SQLite's default automatic checkpoint threshold, in WAL pages. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000
/** The writer's own threshold while the worker checkpoints: a bound, not the usual path. */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 4000

export interface WalCheckpointerOptions {
  /** The database file, opened by the worker. */
  readonly path: string
  /** The appending connection, whose automatic checkpoint threshold this sets. */
  readonly db: Database.Database
  /** Default CHECKPOINT_EVERY_BYTES. */
  readonly everyBytes?: number
  /** Told when the worker fails; the writer checkpoints by itself from then on. */
  readonly onFailure?: (error: Error) => void
}

export interface WalCheckpointStats {
  /** Checkpoints the worker finished. */
  readonly completed: number
  /** Whether the worker is running. */
  readonly running: boolean
}

export interface WalCheckpointer {
  /** Told after each committed append, with its value bytes. */
  appended(bytes: number): void
  stats(): WalCheckpointStats
  /** Ends the worker and closes its connection; the writer's threshold goes back to the default. */
  close(): Promise<void>
}

// The messages of wal-checkpoint-worker.mjs.
type ToWorker = 'checkpoint' | 'stop'
type ToParent =
  | { readonly kind: 'checkpointed' }
  | { readonly kind: 'failed'; readonly message: string }

export function createWalCheckpointer(options: WalCheckpointerOptions): WalCheckpointer {
  const everyBytes = options.everyBytes ?? CHECKPOINT_EVERY_BYTES
  let worker: Worker | undefined
  let exited: Promise<void> = Promise.resolve()
  let failed = false
  let closed = false
  let sinceRequest = 0
  let inFlight = false
  let again = false
  let completed = 0

  function setWriterThreshold(pagesThreshold: number): void {
    if (options.db.open) options.db.pragma(`wal_autocheckpoint = ${pagesThreshold}`)
  }

  function fail(error: Error): void {
    if (failed || closed) return
    failed = true
    setWriterThreshold(DEFAULT_AUTOCHECKPOINT_PAGES)
    void worker?.terminate()
    options.onFailure?.(error)
  }

  function start(): Worker {
    const started = startWorker(options.path, {
      checkpointed: () => {
        completed++
        inFlight = false
        if (again) request()
      },
      failed: fail,
      exited: (code) => {
        worker = undefined
        if (!closed) fail(new Error(`the WAL checkpoint worker of ${options.path} exited (code ${code})`))
      },
    })
    exited = new Promise((resolve) => started.once('exit', () => resolve()))
    setWriterThreshold(FALLBACK_AUTOCHECKPOINT_PAGES)
    return started
  }

  function request(): void {
    if (failed || closed) return
    again = inFlight
    if (inFlight) return
    worker ??= start()
    inFlight = true
    worker.postMessage('checkpoint' satisfies ToWorker)
  }

  return {
    appended(bytes) {
      if (failed || closed) return
      sinceRequest += bytes
      if (sinceRequest < everyBytes) return
      sinceRequest = 0
      // After the commits that follow in the same turn (a sink writes its records, then their
      // checkpoint record), so the worker copies them too: the WAL restarts from its beginning only
      // at a write that finds every frame copied.
      setImmediate(request)
    },
    stats: () => ({ completed, running: worker !== undefined }),
    async close() {
      if (closed) return
      closed = true
      // Referenced again while it finishes, or a process with nothing else left to do would end
      // before the worker's exit is seen, its close never settling.
      worker?.ref()
      worker?.postMessage('stop' satisfies ToWorker)
      await exited
      setWriterThreshold(DEFAULT_AUTOCHECKPOINT_PAGES)
    },
  }
}

interface WorkerEvents {
  checkpointed(): void
  failed(error: Error): void
  exited(code: number): void
}

function startWorker(path: string, on: WorkerEvents): Worker {
  // No Node flags of the parent's: the body needs none, and some (--input-type) refuse a file entry.
  const worker = new Worker(WORKER, { workerData: { path }, execArgv: [] })
  worker.on('message', (message: ToParent) => {
    if (message.kind === 'checkpointed') on.checkpointed()
    else on.failed(new Error(`background WAL checkpoint of ${path} failed: ${message.message}`))
  })
  worker.on('error', (error) => on.failed(new Error(`the WAL checkpoint worker of ${path} failed: ${error.message}`, { cause: error })))
  worker.once('exit', (code) => on.exited(code))
  // An open log must not keep a process alive that is otherwise done.
  worker.unref()
  return worker
}
