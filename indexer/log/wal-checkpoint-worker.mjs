// The body of the embedded log's WAL checkpoint worker (wal-checkpointer.ts): plain JavaScript that
// loads nothing but better-sqlite3, so it starts in tens of milliseconds instead of the half second
// compiling TypeScript in a fresh thread takes, during which the WAL would grow unchecked.
// Messages: "checkpoint" runs a PASSIVE checkpoint and answers { kind: 'checkpointed' } or
// { kind: 'failed', message }; "stop" closes the connection and lets the thread end.
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

const port = parentPort
const db = new Database(workerData.path, { fileMustExist: true, timeout: 10_000 })
// The checkpoint fsyncs the database file before the WAL may restart, as the writer's would.
db.pragma('synchronous = FULL')
port.on('message', (message) => {
  if (message === 'stop') {
    db.close()
    port.close()
    return
  }
  try {
    // Busy (another connection checkpointing) is no failure: the next request catches up.
    db.pragma('wal_checkpoint(PASSIVE)')
    port.postMessage({ kind: 'checkpointed' })
  } catch (error) {
    port.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error) })
  }
})
