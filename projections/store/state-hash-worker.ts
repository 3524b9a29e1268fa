// The state hash of a read-model file, computed in a worker thread with a read-only connection of
// its own: hashing every row takes about 2 s per million records folded, which on the thread that
// serves WebSockets would stall every client for as long. The rows and the offsets are read in one
// read transaction, so the hash is that of the offsets it comes with (WAL gives the reader a
// snapshot while the fold goes on committing).
import { parentPort } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { startTsWorker, tsWorkerData } from '../../indexer/runtime/ts-worker.ts'
import type { StateReport } from './read-model-store.ts'
import { stateHash } from './state-hash.ts'
import { createSqliteReadModelStore } from './sqlite-read-model-store.ts'

type Answer = { readonly ok: true; readonly report: StateReport } | { readonly ok: false; readonly message: string }

/** The committed state hash of the file at `path` and the offsets it is the state of. */
export function stateReportOfFile(path: string): Promise<StateReport> {
  const worker = startTsWorker(new URL(import.meta.url), { path })
  return new Promise<StateReport>((resolve, reject) => {
    worker.once('message', (answer: Answer) => (answer.ok ? resolve(answer.report) : reject(new Error(`state hash of ${path}: ${answer.message}`))))
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`state hash of ${path}: the worker exited (code ${code}) without an answer`)))
  }).finally(() => void worker.terminate())
}

function report(path: string): StateReport {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const store = createSqliteReadModelStore(db)
    return db.transaction(() => ({ offsets: store.loadOffsets(), stateHash: stateHash(store) }))()
  } finally {
    db.close()
  }
}

const started = tsWorkerData<{ readonly path: string }>(import.meta.url)
if (started !== undefined) {
  const { path } = started
  let answer: Answer
  try {
    answer = { ok: true, report: report(path) }
  } catch (error) {
    answer = { ok: false, message: error instanceof Error ? error.message : String(error) }
  }
  parentPort!.postMessage(answer)
}
