// The backfill: every log of the perp contract from the resume point to a target block, into the
// sink, in chain order. Block ranges are fetched with several eth_getLogs in flight; they come back
// in any order and a reorder buffer hands them to the sink strictly by block number, one at a time,
// while the next ranges are already being fetched.
//
// The backfill only writes final blocks: its target is the head minus the finality depth (or the
// confirmations, if deeper), so no reorg can touch what it writes, and it hands the sink whole
// ranges (their records and the range's last header) instead of every block's header. The blocks
// above the target are the live tail's, which links each one by parent hash.
//
// Timestamps: eth_getLogs has none in the standard, but recent nodes (anvil, geth) add
// blockTimestamp to each log; a block whose logs lack it gets its header fetched, once.
//
// A sink with appendEncoded takes each range as its records' JSON, written straight from the
// decoded logs (log-to-json.ts) rather than through record objects and the writer's check: that
// check and its JSON pass cost the main thread a few µs per event, and the property tests of
// log-to-json hold its bytes to the checked path's. Over HTTP, the answer's bytes go first to the
// answer reader (logs-answer-reader.ts), which writes the same JSON with no parse at all when the
// answer is in the layout it knows; any other answer is parsed and encoded as above.
import type { Hex } from 'viem'
import type { ChainEventRecord } from '../records/schemas.ts'
import type { Logger } from '../runtime/logger.ts'
import type { MetricsRegistry } from '../runtime/metrics.ts'
import { createProgress, type Progress, type ProgressOptions } from '../runtime/progress.ts'
import { createAdaptiveRange, type AdaptiveRange, type BlockRange } from './adaptive-range.ts'
import { RpcError, type ChainRpc } from './chain-rpc.ts'
import type { BlockRef, RawLog } from './chain-types.ts'
import type { EncodedRecords } from './encoded-records.ts'
import { createLogToJson } from './log-to-json.ts'
import { answerReaderOptions } from './answer-reader-options.ts'
import { createLogsAnswerReader, type LogsAnswer, type LogsAnswerReader } from './logs-answer-reader.ts'
import type { LogToRecord } from './log-to-record.ts'
import { encodeRange, logTimestamps, toRecords } from './range-encoder.ts'
import { withRetry, type RetryOptions } from './rpc-retry.ts'

/** The records of the final blocks `from`..`through`, in chain order. */
export interface FinalizedRange {
  readonly from: number
  readonly through: BlockRef
  readonly records: readonly ChainEventRecord[]
}

/** The same, as the trusted write path's JSON (see log-to-json.ts). */
export interface EncodedFinalizedRange {
  readonly from: number
  readonly through: BlockRef
  readonly encoded: EncodedRecords
}

export interface FinalizedRangeSink {
  /** Ranges arrive consecutive and ascending: each starts just after the previous one's `through`. */
  appendFinalized(range: FinalizedRange): Promise<void>
  /** Takes the ranges instead of appendFinalized when toRecord carries its mapping; same order. */
  appendEncoded?(range: EncodedFinalizedRange): Promise<void>
}

export interface BackfillDeps {
  readonly rpc: ChainRpc
  readonly sink: FinalizedRangeSink
  /** createLogToRecord's (it carries its mapping) lets a sink with appendEncoded take JSON. */
  readonly toRecord: LogToRecord
  readonly contract: Hex
  /** eth_getLogs requests in flight at once. */
  readonly concurrency: number
  /** The widest block range one request asks for. */
  readonly maxRange: number
  /** The first range's span (default min(maxRange, 10)); it grows while answers stay small. */
  readonly initialRange?: number
  /** Answers below this many logs let the range grow (default 5000). */
  readonly targetLogs?: number
  readonly retry?: Pick<RetryOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'>
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  /** Default: createProgress on stderr (a bar on a terminal, log lines otherwise). */
  readonly progress?: (options: Pick<ProgressOptions, 'label' | 'unit' | 'total'>) => Progress
}

export interface BackfillRequest {
  readonly from: number
  /** Inclusive; a final block. */
  readonly to: number
  /** The chain head the target was derived from, for the blocks-behind-head gauge. */
  readonly head?: number
  readonly signal?: AbortSignal
}

export interface BackfillResult {
  readonly blocks: number
  readonly events: number
  readonly elapsedMs: number
}

export interface Backfill {
  run(request: BackfillRequest): Promise<BackfillResult>
}

/** The newest block the backfill may write: one no reorg within the finality depth can remove. */
export function backfillTarget(head: number, confirmations: number, finalityDepth: number): number {
  return head - Math.max(confirmations, finalityDepth)
}

interface Instruments {
  readonly behind: ReturnType<MetricsRegistry['gauge']>
  readonly ranges: ReturnType<MetricsRegistry['counter']>
  readonly retries: ReturnType<MetricsRegistry['counter']>
  readonly answers: ReturnType<MetricsRegistry['counter']>
}

const DEFAULT_RETRY = { maxAttempts: 12, baseDelayMs: 250, maxDelayMs: 30_000 }
const HEADER_CONCURRENCY = 8

export function createBackfill(deps: BackfillDeps): Backfill {
  const instruments: Instruments = {
    behind: deps.metrics.gauge('backfill_blocks_behind_head', 'Blocks between the chain head and the newest block the backfill wrote'),
    ranges: deps.metrics.counter('backfill_ranges_total', 'eth_getLogs ranges fetched (ok) or split as too large (split)'),
    retries: deps.metrics.counter('backfill_rpc_retries_total', 'Retried JSON-RPC requests of the backfill, by error kind'),
    answers: deps.metrics.counter('backfill_log_answers_total', 'eth_getLogs answers by how they were read: layout (the answer reader) or parsed'),
  }
  const build = rangeBuilder(deps)
  return { run: (request) => runBackfill(deps, instruments, build, request) }
}

type AnyRange = FinalizedRange | EncodedFinalizedRange

/** How a range's logs become what the sink takes: records, or their JSON, in chain order. */
interface RangeBuilder {
  /** From the logs in eth_getLogs order. */
  build(logs: readonly RawLog[], timestamps: ReadonlyMap<string, number>, range: BlockRange): Pick<FinalizedRange, 'records'> | Pick<EncodedFinalizedRange, 'encoded'>
  /** Straight from the answer's bytes, when the JSON path is taken and the mapping allows it. */
  readonly reader?: LogsAnswerReader
}

/** The trusted JSON path where both the sink and the mapping allow it; record objects otherwise. */
function rangeBuilder(deps: BackfillDeps): RangeBuilder {
  const { mapping } = deps.toRecord
  if (deps.sink.appendEncoded !== undefined && mapping !== undefined) {
    const toJson = createLogToJson(mapping)
    const options = answerReaderOptions(mapping)
    const build: RangeBuilder['build'] = (logs, timestamps, range) => ({ encoded: encodeRange(toJson, logs, timestamps, range) })
    return options === undefined ? { build } : { build, reader: createLogsAnswerReader(options) }
  }
  return { build: (logs, timestamps, range) => ({ records: toRecords(deps.toRecord, logs, timestamps, range) }) }
}

async function runBackfill(deps: BackfillDeps, instruments: Instruments, build: RangeBuilder, request: BackfillRequest): Promise<BackfillResult> {
  const started = performance.now()
  if (request.to < request.from) return { blocks: 0, events: 0, elapsedMs: 0 }
  const controller = new AbortController()
  const onAbort = (): void => controller.abort(request.signal?.reason)
  request.signal?.addEventListener('abort', onAbort, { once: true })
  const sizer = createAdaptiveRange({
    initialSpan: Math.min(deps.initialRange ?? 10, deps.maxRange),
    maxSpan: deps.maxRange,
    targetLogs: deps.targetLogs ?? 5_000,
  })
  const fetcher = createRangeFetcher(deps, instruments, sizer, controller.signal, build)
  try {
    const events = await runPipeline(deps, instruments, fetcher, request, controller)
    deps.logger.info('backfill complete', { from: request.from, to: request.to, events, ms: Math.round(performance.now() - started) })
    return { blocks: request.to - request.from + 1, events, elapsedMs: performance.now() - started }
  } finally {
    request.signal?.removeEventListener('abort', onAbort)
  }
}

interface RangeFetcher {
  /** The range's records, or the two halves to fetch instead when the provider refused it. */
  fetch(range: BlockRange): Promise<AnyRange | readonly [BlockRange, BlockRange]>
  readonly sizer: AdaptiveRange
}

function createRangeFetcher(deps: BackfillDeps, instruments: Instruments, sizer: AdaptiveRange, signal: AbortSignal, build: RangeBuilder): RangeFetcher {
  const retryPolicy = { ...DEFAULT_RETRY, ...deps.retry }
  const retried = <T>(call: () => Promise<T>): Promise<T> =>
    withRetry(call, {
      ...retryPolicy,
      signal,
      onRetry: (error, attempt, delayMs) => {
        instruments.retries.inc({ kind: error.kind })
        deps.logger.warn('rpc request failed; retrying', { method: error.method, kind: error.kind, attempt, delayMs })
      },
    })
  const header = async (read: () => Promise<BlockRef | undefined>, what: string): Promise<BlockRef> => {
    const block = await retried(read)
    if (block === undefined) throw new RpcError(`the node does not know ${what}`, 'invalid_response', 'eth_getBlockByNumber')
    return block
  }

  /** The range's logs, or what the answer reader made of them. */
  const getLogs = (range: BlockRange): Promise<{ readonly read: LogsAnswer } | { readonly logs: RawLog[] }> => {
    const filter = { address: deps.contract, fromBlock: range.from, toBlock: range.to }
    const { reader } = build
    if (reader !== undefined && deps.rpc.getLogsReading !== undefined) return deps.rpc.getLogsReading(filter, (body) => reader(body, range))
    return deps.rpc.getLogs(filter).then((logs) => ({ logs }))
  }

  async function fetch(range: BlockRange): Promise<AnyRange | readonly [BlockRange, BlockRange]> {
    const through = header(() => deps.rpc.getBlockByNumber(range.to), `block #${range.to}`)
    through.catch(() => undefined)
    let answer: Awaited<ReturnType<typeof getLogs>>
    try {
      answer = await retried(() => getLogs(range))
    } catch (error) {
      if (!(error instanceof RpcError && error.shouldSplit)) throw error
      instruments.ranges.inc({ outcome: 'split' })
      deps.logger.debug('range refused; splitting', { from: range.from, to: range.to, kind: error.kind })
      return sizer.split(range, error)
    }
    sizer.succeeded(range, 'read' in answer ? answer.read.logs : answer.logs.length)
    instruments.ranges.inc({ outcome: 'ok' })
    instruments.answers.inc({ reader: 'read' in answer ? 'layout' : 'parsed' })
    if ('read' in answer) return { from: range.from, through: await through, encoded: answer.read.encoded }
    const { logs } = answer
    const timestamps = await blockTimestamps(logs, (hash) => header(() => deps.rpc.getBlockByHash(hash), `block ${hash}`))
    return { from: range.from, through: await through, ...build.build(logs, timestamps, range) }
  }
  return { fetch, sizer }
}

/** Each block's timestamp, by block hash: from the logs where the node sent it, else its header. */
async function blockTimestamps(logs: readonly RawLog[], header: (hash: Hex) => Promise<BlockRef>): Promise<Map<string, number>> {
  const { timestamps, missing } = logTimestamps(logs)
  const hashes = [...missing]
  for (let i = 0; i < hashes.length; i += HEADER_CONCURRENCY) {
    const headers = await Promise.all(hashes.slice(i, i + HEADER_CONCURRENCY).map(header))
    headers.forEach((block, k) => timestamps.set(hashes[i + k]!, block.timestamp))
  }
  return timestamps
}

/** The fetch-ahead workers' and the in-order writer's shared state. */
interface Pipeline {
  readonly request: BackfillRequest
  readonly fetcher: RangeFetcher
  /** Halves of refused ranges, to fetch before any new range. */
  readonly retry: BlockRange[]
  /** Fetched ranges waiting for their turn, by first block. */
  readonly buffer: Map<number, AnyRange>
  readonly wakeUp: WakeUp
  readonly maxBuffered: number
  cursor: number
  nextToWrite: number
  failure: { readonly error: unknown } | undefined
}

/** Workers fetch ranges ahead; one writer hands them to the sink in block order. */
async function runPipeline(
  deps: BackfillDeps,
  instruments: Instruments,
  fetcher: RangeFetcher,
  request: BackfillRequest,
  controller: AbortController,
): Promise<number> {
  const pipeline: Pipeline = {
    request,
    fetcher,
    retry: [],
    buffer: new Map(),
    wakeUp: createWakeUp(),
    maxBuffered: Math.max(2, deps.concurrency * 2),
    cursor: request.from,
    nextToWrite: request.from,
    failure: undefined,
  }
  const fail = (error: unknown): void => {
    pipeline.failure ??= { error }
    controller.abort(error)
    pipeline.wakeUp.notify()
  }
  controller.signal.addEventListener('abort', () => fail(controller.signal.reason), { once: true })
  const guard = <T>(task: Promise<T>): Promise<T | undefined> => task.catch((error: unknown) => void fail(error))
  const workers = Array.from({ length: Math.max(1, deps.concurrency) }, () => guard(fetchAhead(pipeline)))
  const [events] = await Promise.all([guard(writeInOrder(pipeline, deps, instruments)), ...workers])
  if (pipeline.failure !== undefined) throw pipeline.failure.error
  return events ?? 0
}

/** A refused range's halves first (they fill a gap the writer waits on), else the next new one. */
function takeRange(p: Pipeline): BlockRange | 'wait' | undefined {
  p.retry.sort((a, b) => a.from - b.from)
  const again = p.retry.shift()
  if (again !== undefined) return again
  if (p.cursor > p.request.to) return undefined
  if (p.buffer.size >= p.maxBuffered) return 'wait'
  const range = p.fetcher.sizer.next(p.cursor, p.request.to)
  p.cursor = range.to + 1
  return range
}

async function fetchAhead(p: Pipeline): Promise<void> {
  while (p.failure === undefined) {
    const range = takeRange(p)
    if (range === undefined) return
    if (range === 'wait') {
      await p.wakeUp.wait()
      continue
    }
    const result = await p.fetcher.fetch(range)
    if ('through' in result) p.buffer.set(result.from, result)
    else p.retry.push(...result)
    p.wakeUp.notify()
  }
}

/** Hands the fetched ranges to the sink strictly in block order; returns the records written. */
async function writeInOrder(p: Pipeline, deps: BackfillDeps, instruments: Instruments): Promise<number> {
  const { request } = p
  const total = request.to - request.from + 1
  const head = request.head ?? request.to
  const progress = (deps.progress ?? defaultProgress(deps.logger))({ label: 'backfill', unit: 'events', total: 0 })
  let events = 0
  while (p.nextToWrite <= request.to && p.failure === undefined) {
    const range = p.buffer.get(p.nextToWrite)
    if (range === undefined) {
      await p.wakeUp.wait()
      continue
    }
    p.buffer.delete(p.nextToWrite)
    p.wakeUp.notify()
    events += await append(deps.sink, range)
    p.nextToWrite = range.through.number + 1
    instruments.behind.set(Math.max(0, head - range.through.number))
    // Events per block so far, times the blocks left: the estimate the ETA is computed from.
    const blocksDone = p.nextToWrite - request.from
    progress.update(events, Math.round(events + ((total - blocksDone) * events) / Math.max(1, blocksDone)))
  }
  if (p.failure === undefined) progress.finish()
  return events
}

/** Hands one range to the sink; returns its record count. */
async function append(sink: FinalizedRangeSink, range: AnyRange): Promise<number> {
  if (!('encoded' in range)) {
    await sink.appendFinalized(range)
    return range.records.length
  }
  // rangeBuilder encodes only for a sink with appendEncoded.
  if (sink.appendEncoded === undefined) throw new Error('an encoded range for a sink without appendEncoded')
  await sink.appendEncoded(range)
  return range.encoded.count
}

function defaultProgress(logger: Logger): NonNullable<BackfillDeps['progress']> {
  return (options) => createProgress({ ...options, logger })
}

interface WakeUp {
  wait(): Promise<void>
  notify(): void
}

/** Wakes every waiter at the next notify(); a waiter re-checks its condition after waking. */
function createWakeUp(): WakeUp {
  let waiters: (() => void)[] = []
  return {
    wait: () => new Promise<void>((resolve) => waiters.push(resolve)),
    notify: () => {
      const woken = waiters
      waiters = []
      for (const resolve of woken) resolve()
    },
  }
}
