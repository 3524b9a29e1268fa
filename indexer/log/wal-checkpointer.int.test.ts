import { spawnSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEmbeddedLog, type EmbeddedLog } from './embedded-log.ts'
import { createWalCheckpointer, FALLBACK_AUTOCHECKPOINT_PAGES } from './wal-checkpointer.ts'
import { until } from '../../test/support/until.ts'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const EMBEDDED_LOG_MODULE = new URL('./embedded-log.ts', import.meta.url).href
const MIB = 1024 * 1024

const autocheckpoint = (db: Database.Database): number => db.pragma('wal_autocheckpoint', { simple: true }) as number

describe('background WAL checkpoints of the embedded log', () => {
  let dir: string
  let path: string
  const logs: EmbeddedLog[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wal-checkpointer-'))
    path = join(dir, 'log.db')
  })

  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close()
    await rm(dir, { recursive: true, force: true })
  })

  const open = (checkpointEveryBytes: number): EmbeddedLog => {
    const log = createEmbeddedLog({ path, checkpointEveryBytes })
    logs.push(log)
    return log
  }

  /** Appends `mib` MiB in 1 MiB appends of 1 KiB values, each to partition 0 of "t". */
  async function appendMiB(log: EmbeddedLog, mib: number): Promise<void> {
    const value = Buffer.alloc(1024, 0x61)
    for (let i = 0; i < mib; i++) {
      await log.append('t', Array.from({ length: 1024 }, (_, k) => ({ key: `k${k % 7}`, value })))
      // Lets the worker's answers in, as the awaits of a real writer do.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  it('copies the WAL into the database file from the worker while the writer only appends', async () => {
    const log = open(MIB)
    await log.ensureTopics([{ name: 't', partitions: 1 }])
    await appendMiB(log, 24)
    await until(() => log.walCheckpoints().completed >= 3, 'three background checkpoints')
    expect(log.walCheckpoints().running).toBe(true)
    // 24 MiB is far below the writer's own threshold while the worker runs (4000 pages of 16 KiB),
    // so only the worker can have moved these pages into the database file.
    expect(FALLBACK_AUTOCHECKPOINT_PAGES * 16 * 1024).toBeGreaterThan(48 * MIB)
    expect(statSync(path).size).toBeGreaterThan(16 * MIB)
    // Every record is still there for a reader on another connection.
    const reader = createEmbeddedLog({ path })
    logs.push(reader)
    expect(await reader.endOffsets('t')).toEqual([24 * 1024])
  })

  it('starts no worker for a log that appends less than the threshold', async () => {
    const log = open(8 * MIB)
    await log.ensureTopics([{ name: 't', partitions: 1 }])
    await appendMiB(log, 2)
    expect(log.walCheckpoints()).toEqual({ completed: 0, running: false })
  })

  it('ends the worker on close, so a process with nothing else to do exits', () => {
    const code = [
      `import { createEmbeddedLog } from ${JSON.stringify(EMBEDDED_LOG_MODULE)}`,
      `const log = createEmbeddedLog({ path: ${JSON.stringify(path)}, checkpointEveryBytes: 1024 * 1024 })`,
      `await log.ensureTopics([{ name: 't', partitions: 1 }])`,
      `const value = Buffer.alloc(1024, 97)`,
      `for (let i = 0; i < 4; i++) { await log.append('t', Array.from({ length: 1024 }, () => ({ key: 'k', value }))); await new Promise((r) => setImmediate(r)) }`,
      `while (log.walCheckpoints().completed === 0) await new Promise((r) => setTimeout(r, 10))`,
      `await log.close()`,
      `console.log(JSON.stringify(log.walCheckpoints()))`,
    ].join('\n')
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 })
    expect(child.stderr).toBe('')
    expect(child.status).toBe(0)
    expect(JSON.parse(child.stdout.trim())).toMatchObject({ running: false })
    expect(JSON.parse(child.stdout.trim()).completed).toBeGreaterThan(0)
  })

  it('raises the writer\'s own threshold while the worker runs and restores it on close', async () => {
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.exec('CREATE TABLE t (v BLOB)')
    const checkpointer = createWalCheckpointer({ path, db, everyBytes: 1 })
    expect(autocheckpoint(db)).toBe(1000)
    db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(100))
    checkpointer.appended(100)
    await until(() => checkpointer.stats().completed === 1, 'the first checkpoint')
    expect(autocheckpoint(db)).toBe(FALLBACK_AUTOCHECKPOINT_PAGES)
    await checkpointer.close()
    expect(checkpointer.stats().running).toBe(false)
    expect(autocheckpoint(db)).toBe(1000)
    db.close()
  })

  it('hands checkpoints back to the writer, and says why, when the worker fails', async () => {
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    const failures: Error[] = []
    // The worker opens a file that is not there (it never creates one), so it fails at its start.
    const missing = join(dir, 'gone.db')
    const checkpointer = createWalCheckpointer({ path: missing, db, everyBytes: 1, onFailure: (error) => failures.push(error) })
    checkpointer.appended(1)
    await until(() => failures.length > 0, 'the failure')
    expect(failures[0]!.message).toContain(`the WAL checkpoint worker of ${missing} failed`)
    expect(autocheckpoint(db)).toBe(1000)
    checkpointer.appended(1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(checkpointer.stats()).toEqual({ completed: 0, running: false })
    expect(failures).toHaveLength(1)
    await checkpointer.close()
    db.close()
  })
})
