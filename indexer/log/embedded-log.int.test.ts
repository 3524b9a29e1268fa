import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEmbeddedLog, type EmbeddedLog, type EmbeddedLogOptions } from './embedded-log.ts'
import type { Log, StoredRecord } from './log.ts'
import { describeLogContract } from './log-contract.ts'
import { recordText } from './stored-text-record.ts'
import {
  InvalidTopicNameError,
  LogFullError,
  TopicNotCompactedError,
  UnknownPartitionError,
  UnknownTopicError,
} from './log-errors.ts'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const EMBEDDED_LOG_MODULE = new URL('./embedded-log.ts', import.meta.url).href

describeLogContract('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-log-contract-'))
  const path = join(dir, 'log.db')
  const logs: Log[] = []
  const open = (): Log => {
    const log = createEmbeddedLog({ path, pollIntervalMs: 20 })
    logs.push(log)
    return log
  }
  return {
    log: open(),
    reopen: async () => open(),
    cleanup: async () => {
      for (const log of logs) await log.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

/** Reads everything from offset 0 until `count` records arrived. */
async function readAll(log: Log, topic: string, count: number): Promise<StoredRecord[]> {
  const records: StoredRecord[] = []
  let reached: () => void = () => undefined
  const done = new Promise<void>((resolve) => (reached = resolve))
  const consumer = log.consume({
    topics: [topic],
    groupId: 'test',
    from: () => 0,
    onBatch: async (batch) => {
      records.push(...batch.records)
      if (records.length >= count) reached()
    },
  })
  await done
  await consumer.stop()
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

/** Runs a script in a child Node process that has the embedded log loaded as `createEmbeddedLog`. */
function runChild(script: string, onLine?: (line: string, kill: () => void) => void): Promise<number | null> {
  const code = `import { createEmbeddedLog } from ${JSON.stringify(EMBEDDED_LOG_MODULE)};\n${script}`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) onLine?.(line, () => child.kill('SIGKILL'))
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => resolve(code))
  })
}

describe('embedded log', () => {
  let dir: string
  let path: string
  const logs: EmbeddedLog[] = []
  const open = (options: Partial<EmbeddedLogOptions> = {}): EmbeddedLog => {
    const log = createEmbeddedLog({ path, pollIntervalMs: 20, ...options })
    logs.push(log)
    return log
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'embedded-log-'))
    path = join(dir, 'log.db')
  })

  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('compacts a compacted topic to the newest record per key, survivors keeping their offsets', async () => {
    const log = open()
    await log.ensureTopics([{ name: 'snapshots', partitions: 1, compacted: true }])
    const keys = ['a', 'b', 'a', 'c', 'a', 'b']
    await log.append('snapshots', keys.map((key, i) => ({ key, value: Buffer.from(`${key}${i}`) })))

    expect(await log.compact('snapshots')).toBe(3)

    const survivors = await readAll(log, 'snapshots', 3)
    expect(survivors.map((r) => [r.offset, r.key, r.value.toString()])).toEqual([
      [3, 'c', 'c3'],
      [4, 'a', 'a4'],
      [5, 'b', 'b5'],
    ])
    expect(await log.endOffsets('snapshots')).toEqual([6])
    expect(await log.append('snapshots', [{ key: 'a', value: Buffer.from('a6') }])).toEqual([{ partition: 0, offset: 6 }])
  })

  it('reads every value back byte for byte, and as the text Buffer#toString gives, valid UTF-8 or not', async () => {
    const log = open()
    await log.ensureTopics([{ name: 'bytes', partitions: 1 }])
    const values = [
      Buffer.from('{"price":"1.5"}'),
      Buffer.from('ünïcödé ✓ 😀'),
      Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x41, 0xc3]),
      Buffer.from('\uFFFD stored as text'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.alloc(0),
    ]
    await log.append('bytes', values.map((value) => ({ key: 'k', value })))

    const records = await readAll(log, 'bytes', values.length)
    expect(records.map((r) => r.value.toString('hex'))).toEqual(values.map((v) => v.toString('hex')))
    expect(records.map((r) => recordText(r))).toEqual(values.map((v) => v.toString('utf8')))
  })

  it('lets timers run between the rounds of a catch-up, so a long backlog never holds off signals and sockets', async () => {
    const log = open()
    await log.ensureTopics([{ name: 'backlog', partitions: 2 }])
    await log.append('backlog', Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i % 7}`, value: Buffer.from(`v${i}`) })))
    let delivered = 0
    let deliveredWhenTimerRan: number | undefined
    setTimeout(() => (deliveredWhenTimerRan = delivered), 0)
    let reached: () => void = () => undefined
    const all = new Promise<void>((resolve) => (reached = resolve))
    const consumer = log.consume({
      topics: ['backlog'],
      groupId: 'test',
      from: () => 0,
      maxBatchRecords: 500,
      onBatch: async (batch) => {
        delivered += batch.records.length
        if (delivered >= 20_000) reached()
      },
    })
    await all
    await consumer.stop()
    expect(deliveredWhenTimerRan).toBeDefined()
    expect(deliveredWhenTimerRan!).toBeLessThan(20_000)
  })

  it('refuses to compact a topic that is not compacted', async () => {
    const log = open()
    await log.ensureTopics([{ name: 'events', partitions: 1 }])
    await log.append('events', [{ key: 'a', value: Buffer.from('1') }, { key: 'a', value: Buffer.from('2') }])
    await expect(log.compact('events')).rejects.toBeInstanceOf(TopicNotCompactedError)
    expect(await log.endOffsets('events')).toEqual([2])
  })

  it('rejects an append that fills the disk with LogFullError naming the file, writing nothing of it', async () => {
    const log = open({ maxPageCount: 24 })
    await log.ensureTopics([{ name: 'events', partitions: 2 }])
    const earlier = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`earlier-${i}`) }))
    await log.append('events', earlier)
    const offsetsBefore = await log.endOffsets('events')

    const tooMuch = Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(1024, i % 256) }))
    const failed = log.append('events', tooMuch)
    await expect(failed).rejects.toBeInstanceOf(LogFullError)
    await expect(failed).rejects.toMatchObject({ file: path, message: expect.stringContaining(path) })
    await expect(failed).rejects.toHaveProperty('cause.code', 'SQLITE_FULL')

    expect(await log.endOffsets('events')).toEqual(offsetsBefore)
    const readable = await readAll(log, 'events', 20)
    expect(readable.map((r) => r.value.toString()).sort()).toEqual(earlier.map((r) => r.value.toString()).sort())
    expect(await log.append('events', [{ key: 'k0', value: Buffer.from('small') }])).toHaveLength(1)
  })

  it('writes nothing of an append call when one of its records is rejected', async () => {
    const log = open()
    await log.ensureTopics([{ name: 'events', partitions: 2 }])
    const records = [
      { key: 'a', value: Buffer.from('1') },
      { key: 'b', value: Buffer.from('2'), partition: 2 },
    ]
    await expect(log.append('events', records)).rejects.toBeInstanceOf(UnknownPartitionError)
    expect(await log.endOffsets('events')).toEqual([0, 0])
  })

  it('rejects appends to unknown topics and topic names Kafka would refuse', async () => {
    const log = open()
    await expect(log.append('missing', [{ key: 'a', value: Buffer.from('1') }])).rejects.toBeInstanceOf(UnknownTopicError)
    await expect(log.endOffsets('missing')).rejects.toBeInstanceOf(UnknownTopicError)
    await expect(log.ensureTopics([{ name: 'bad"name', partitions: 1 }])).rejects.toBeInstanceOf(InvalidTopicNameError)
    expect(await log.partitionCount('bad"name')).toBeUndefined()
  })

  it('wakes a waiting consumer at once on an append through the same instance, without waiting for a poll', async () => {
    const log = open({ pollIntervalMs: 60_000 })
    await log.ensureTopics([{ name: 'events', partitions: 1 }])
    const arrived: number[] = []
    let received: () => void = () => undefined
    const receivedPromise = new Promise<void>((resolve) => (received = resolve))
    const consumer = log.consume({
      topics: ['events'],
      groupId: 'test',
      from: () => 0,
      onBatch: async (batch) => {
        arrived.push(Date.now())
        received()
      },
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const appendedAt = Date.now()
    await log.append('events', [{ key: 'a', value: Buffer.from('1') }])
    await receivedPromise
    expect(arrived[0]! - appendedAt).toBeLessThan(1000)
    await consumer.stop()
  })

  it('delivers to a consumer records appended by a second instance on the same file, through polling', async () => {
    const reader = open({ pollIntervalMs: 20 })
    await reader.ensureTopics([{ name: 'events', partitions: 2 }])
    const reading = readAll(reader, 'events', 3)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const writer = open()
    await writer.append('events', ['a', 'b', 'c'].map((key) => ({ key, value: Buffer.from(key) })))
    const records = await reading
    expect(records.map((r) => r.value.toString()).sort()).toEqual(['a', 'b', 'c'])
  })

  it('delivers to a consumer records appended by another process on the same file', async () => {
    const reader = open({ pollIntervalMs: 20 })
    await reader.ensureTopics([{ name: 'events', partitions: 3 }])
    const reading = readAll(reader, 'events', 50)
    const exitCode = await runChild(`
      const log = createEmbeddedLog({ path: ${JSON.stringify(path)} })
      for (let i = 0; i < 5; i++) {
        await log.append('events', Array.from({ length: 10 }, (_, j) => ({ key: 'k' + j, value: Buffer.from(i + '-' + j) })))
      }
      await log.close()
    `)
    expect(exitCode).toBe(0)
    const records = await reading
    expect(records).toHaveLength(50)
    expect(new Set(records.map((r) => r.value.toString())).size).toBe(50)
  })

  it('keeps every record whose append resolved when the writing process is killed with SIGKILL', async () => {
    const setup = open()
    await setup.ensureTopics([{ name: 'events', partitions: 2 }])
    await setup.close()
    let acknowledged = 0
    await runChild(
      `
      const log = createEmbeddedLog({ path: ${JSON.stringify(path)} })
      for (let i = 0; ; i++) {
        await log.append('events', Array.from({ length: 100 }, (_, j) => ({ key: 'k' + j, value: Buffer.alloc(200, i % 256) })))
        console.log(String((i + 1) * 100))
      }
    `,
      (line, kill) => {
        acknowledged = Number(line)
        if (acknowledged >= 5000) kill()
      },
    )
    expect(acknowledged).toBeGreaterThanOrEqual(5000)
    const reopened = open()
    const total = (await reopened.endOffsets('events')).reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThanOrEqual(acknowledged)
    expect(total % 100).toBe(0)
  })

  it('stops its running consumers when closed, resolving their done', async () => {
    const log = open()
    await log.ensureTopics([{ name: 'events', partitions: 1 }])
    const consumer = log.consume({ topics: ['events'], groupId: 'test', from: () => 0, onBatch: async () => undefined })
    await new Promise((resolve) => setTimeout(resolve, 50))
    await log.close()
    await expect(consumer.done).resolves.toBeUndefined()
  })
})
