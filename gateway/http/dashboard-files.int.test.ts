import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardFile } from './dashboard-files.ts'

describe('dashboard files', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashboard-'))
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>perp</title>')
    await writeFile(join(dir, 'dashboard.js'), 'export {}')
    await writeFile(join(dir, 'secret.txt'), 'not served')
  })

  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('serves the three dashboard files at / with their content types', async () => {
    expect(await dashboardFile(dir, '/')).toMatchObject({ status: 200, contentType: 'text/html; charset=utf-8' })
    expect(String((await dashboardFile(dir, '/index.html'))?.body)).toContain('<title>perp</title>')
    expect(await dashboardFile(dir, '/dashboard.js')).toMatchObject({ status: 200, contentType: 'text/javascript; charset=utf-8' })
  })

  it('serves no other file of the folder, and nothing for a file that is missing', async () => {
    expect(await dashboardFile(dir, '/secret.txt')).toBeUndefined()
    expect(await dashboardFile(dir, '/../secret.txt')).toBeUndefined()
    expect(await dashboardFile(dir, '/dashboard.css')).toBeUndefined()
  })
})
