import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { freshFileOf, removeAbandonedFreshFiles } from './swap-file.ts'

describe('fresh files of replays that were killed', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swap-file-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('are deleted with their sidecars once their process is gone, while a running replay keeps its own', async () => {
    const target = join(dir, 'read-models.db')
    const exited = spawnSync(process.execPath, ['-e', '']).pid
    const dead = freshFileOf(target, exited)
    const running = freshFileOf(target, process.pid)
    for (const path of [target, dead, `${dead}-journal`, running, join(dir, 'other.db')]) writeFileSync(path, 'x')

    expect(removeAbandonedFreshFiles(target)).toEqual([dead])
    expect((await readdir(dir)).sort()).toEqual(['.read-models.db.replay-' + process.pid, 'other.db', 'read-models.db'])
  })
})
