// The state hash of a read-model file, computed in a worker thread with a read-only connection of
// its own: hashing every row takes about 2 s per million records folded, which on the thread that
// serves WebSockets would stall every client for as long. The rows and the offsets are read in one
// read transaction, so the hash is that of the offsets it comes with (WAL gives the reader a
// snapshot while the fold goes on committing).
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { startTsWorker } from '../../indexer/runtime/ts-worker.ts'
import type { ConsumerOffset } from './read-model-store.ts'
import { stateHash } from './state-hash.ts'
import { createSqliteReadModelStore } from './sqlite-read-model-store.ts'

export interface FileStateReport {
  readonly stateHash: string
  readonly offsets: ConsumerOffset[]
}

type Answer = { readonly ok: true; readonly report: FileStateReport } | { readonly ok: false; readonly message: string }

/** The committed state hash of the file at `path` and the offsets it is the state of. */
export function stateReportOfFile(path: string): Promise<FileStateReport> {
  const worker = startTsWorker(new URL(import.meta.url), { path })
  return new Promise<FileStateReport>((resolve, reject) => {
    worker.once('message', (answer: Answer) => (answer.ok ? resolve(answer.report) : reject(new Error(`state hash of ${path}: ${answer.message}`))))
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`state hash of ${path}: the worker exited (code ${code}) without an answer`)))
  }).finally(() => void worker.terminate())
}

function report(path: string): FileStateReport {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const store = createSqliteReadModelStore(db)
    return db.transaction(() => ({ offsets: store.loadOffsets(), stateHash: stateHash(store) }))()
  } finally {
    db.close()
  }
}

if (!isMainThread && (workerData as { entry?: string } | null)?.entry === import.meta.url) {
  const { path } = (workerData as { data: { path: string } }).data
  let answer: Answer
  try {
    answer = { ok: true, report: report(path) }
  } catch (error) {
    answer = { ok: false, message: error instanceof Error ? error.message : String(error) }
  }
  parentPort!.postMessage(answer)
}
