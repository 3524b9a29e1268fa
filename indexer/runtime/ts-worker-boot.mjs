// Worker threads do not inherit the TypeScript loader the main thread runs under, so a worker
// starts here: it registers the loader in its own thread, then imports the TypeScript entry.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.entry)
