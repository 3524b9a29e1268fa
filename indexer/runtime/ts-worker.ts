// Starting a worker thread whose entry is a TypeScript module (see ts-worker-boot.mjs).
import { Worker, type ResourceLimits } from 'node:worker_threads'

const boot = new URL('./ts-worker-boot.mjs', import.meta.url)

/** Starts `entry` (a module URL) in a worker thread; it reads `data` as workerData.data. */
export function startTsWorker(entry: URL, data: unknown, resourceLimits?: ResourceLimits): Worker {
  return new Worker(boot, { workerData: { entry: entry.href, data }, ...(resourceLimits === undefined ? {} : { resourceLimits }) })
}
