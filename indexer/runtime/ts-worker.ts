// Starting a worker thread whose entry is a TypeScript module (see ts-worker-boot.mjs).
import { isMainThread, Worker, workerData, type ResourceLimits } from 'node:worker_threads'

const boot = new URL('./ts-worker-boot.mjs', import.meta.url)

/** Starts `entry` (a module URL) in a worker thread; it reads `data` as workerData.data. */
export function startTsWorker(entry: URL, data: unknown, resourceLimits?: ResourceLimits): Worker {
  return new Worker(boot, { workerData: { entry: entry.href, data }, ...(resourceLimits === undefined ? {} : { resourceLimits }) })
}

/**
 * The data startTsWorker gave, when this thread is a worker started with `moduleUrl` as its entry;
 * undefined in any other thread (so a module can hold both a worker's parent side and its body).
 */
export function tsWorkerData<T>(moduleUrl: string): T | undefined {
  if (isMainThread) return undefined
  const started = workerData as { readonly entry?: string; readonly data?: T } | null
  return started?.entry === moduleUrl ? started.data : undefined
}
