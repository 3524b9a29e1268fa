// Worker threads do not inherit the TypeScript loader the main thread runs under, so a worker
// starts here: it registers tsx's require hook, which compiles TypeScript in this thread, and
// requires the TypeScript entry. tsx's ESM loader would instead start a loader thread of its own
// (one more V8 isolate, about 30 MB of RSS per worker) for every worker.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/cjs/api'

register()
createRequire(import.meta.url)(fileURLToPath(workerData.entry))
