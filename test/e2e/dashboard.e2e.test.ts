// What a newcomer meets first: `npm start` (scripts/start.ts) as its own process, with its anvil,
// contract, price feed, simulator, indexer and gateway, then the dashboard in Debian's chromium
// driven by playwright-core. Live prices must appear, a liquidation warning must show for an
// address at risk, a screenshot is saved to test-results/, and Ctrl-C must leave no anvil behind.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const chromiumPath = '/usr/bin/chromium'

let start: ChildProcess
let stdout = ''
let stderr = ''
let dataDir: string
let browser: Browser | undefined
let dashboardUrl: string
let startedWithin: number

function anvilPid(): number | undefined {
  const line = stderr.split('\n').find((l) => l.includes('"msg":"anvil listening"'))
  const pid = line === undefined ? undefined : (JSON.parse(line) as { pid?: unknown }).pid
  return typeof pid === 'number' ? pid : undefined
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr (tail):\n${stderr.slice(-3000)}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'perp-start-'))
  const began = Date.now()
  start = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env['PATH'] ?? '',
      DATA_DIR: dataDir,
      PORT: '0',
      ANVIL_PORT: '0',
      HERMES_PORT: '0',
      LOG_LEVEL: 'info',
      POSITIONS_INTERVAL_MS: '1000',
      LIQUIDATIONS_INTERVAL_MS: '2000',
    },
  })
  start.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  start.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  dashboardUrl = await until('the dashboard URL printed', () => /dashboard\s+(http:\/\/localhost:\d+\/)/.exec(stdout)?.[1], 90_000)
  const stats = await until('stats answered', async () => {
    const response = await fetch(new URL('/api/v1/ws/stats', dashboardUrl)).catch(() => undefined)
    return response?.ok === true ? ((await response.json()) as unknown) : undefined
  }, 90_000)
  startedWithin = Date.now() - began
  expect(stats).toMatchObject({ success: true })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  if (start.exitCode === null) start.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

describe('npm start and the dashboard in chromium', () => {
  it('answers on /api/v1/ws/stats within 90 s of starting', () => {
    expect(startedWithin).toBeLessThan(90_000)
  })

  it('serves the indexer metrics beside the projections and gateway ones on the metrics URL it prints', async () => {
    const metricsUrl = /metrics\s+(http:\/\/\S+\/metrics)/.exec(stdout)?.[1]
    expect(metricsUrl).toBeDefined()
    // The indexer writes the chain's head once its backfill reached it; the projections' once they folded a batch.
    const text = await until('indexer and projection metrics', async () => {
      const body = await (await fetch(metricsUrl!)).text()
      return /^perp_chain_head_block \d+/m.test(body) && /^perp_projection_records_total\{/m.test(body) ? body : undefined
    }, 60_000)
    expect(text).toMatch(/^perp_live_tail_blocks_behind_head \d+/m)
  })

  it('shows live prices, then a hard-to-miss liquidation warning for an address at risk', async () => {
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] })
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(dashboardUrl)
    const price = page.locator('#price-btc-usdc-perp')
    await expect.poll(async () => price.textContent(), { timeout: 30_000 }).toMatch(/\d/)
    const first = await price.textContent()
    await expect.poll(async () => price.textContent(), { timeout: 30_000 }).not.toBe(first)

    // A liquidation candidate is at risk by definition (health below 1.2): watching its trader
    // must raise the banner.
    const candidate = page.locator('#candidates-body [data-address]').first()
    await candidate.waitFor({ state: 'visible', timeout: 120_000 })
    await candidate.click()
    const banner = page.locator('#liquidation-warning')
    await banner.waitFor({ state: 'visible', timeout: 60_000 })
    expect(await page.locator('#liquidation-warning-message').textContent()).toMatch(/liquidat/i)

    mkdirSync(join(root, 'test-results'), { recursive: true })
    await page.screenshot({ path: join(root, 'test-results', 'dashboard.png'), fullPage: true })
  }, 240_000)

  it('stops everything on Ctrl-C, anvil included, and exits 0', async () => {
    const pid = anvilPid()
    expect(pid).toBeTypeOf('number')
    const exited = new Promise<number | null>((resolve) => start.once('exit', (code) => resolve(code)))
    start.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(isRunning(pid!)).toBe(false)
  }, 60_000)
})
