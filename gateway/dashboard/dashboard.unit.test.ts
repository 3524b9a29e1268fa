// The dashboard has no build step, so nothing else would notice a renamed id or a typo in it: these
// checks read the three static files as text and hold them to one another.
import { readFileSync } from 'node:fs'
import { Script } from 'node:vm'
import { describe, expect, it } from 'vitest'

const read = (name: string): string => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8')
const html = read('index.html')
const js = read('dashboard.js')
const css = read('dashboard.css')

const matches = (text: string, pattern: RegExp): string[] => [...text.matchAll(pattern)].map((m) => m[1]!)
const template = /<template id="market-card-template">([\s\S]*?)<\/template>/.exec(html)?.[1] ?? ''
const pageIds = new Set(matches(html, /\sid="([^"]+)"/g))
const templateFields = new Set(matches(template, /data-field="([^"]+)"/g))
/** The header comment, where the hooks for browser tests are documented. */
const header = js.slice(0, js.indexOf("'use strict'"))
const code = js.replace(/^\s*\/\/.*$/gm, '')
const markets = matches(js, /\{ id: '([a-z0-9-]+)', symbol: /g)

describe('dashboard page', () => {
  it('has every element dashboard.js looks up by id', () => {
    const looked = new Set(matches(js, /\$\('([A-Za-z0-9_-]+)'\)/g))
    expect(looked.size).toBeGreaterThan(10)
    expect([...looked].filter((id) => !pageIds.has(id))).toEqual([])
  })

  it('has every market card field dashboard.js fills in its template', () => {
    const used = new Set([...matches(js, /fields\.([A-Za-z]+)/g), ...matches(js, /fields\['([a-z-]+)'\]/g)])
    expect(used.size).toBeGreaterThan(5)
    expect([...used].filter((field) => !templateFields.has(field))).toEqual([])
  })

  it('keeps the hooks documented for browser tests: each #id exists or is a market card field', () => {
    const plain = matches(header, /#([a-z-]+)(?![a-z-]*-<market>)(?=[\s,;)]|$)/gm)
    const perMarket = matches(header, /#([a-z-]+)-<market>/g)
    expect(plain).toEqual(expect.arrayContaining(['liquidation-warning', 'positions-body', 'candidates-body', 'event-feed']))
    expect(perMarket).toEqual(expect.arrayContaining(['price', 'chart']))
    // A concrete example such as #price-btc-usdc-perp names a market card field of a listed market.
    const isCardExample = (id: string): boolean =>
      markets.some((market) => id.endsWith(`-${market}`) && templateFields.has(id.slice(0, -market.length - 1)))
    expect(plain.filter((id) => !pageIds.has(id) && !isCardExample(id))).toEqual([])
    expect(perMarket.filter((field) => field !== 'market' && !templateFields.has(field))).toEqual([])
  })

  it('starts with the liquidation warning hidden, and styles it so hidden really hides it', () => {
    expect(html).toMatch(/<div id="liquidation-warning"[^>]*\shidden>/)
    expect(css).toMatch(/\.liquidation-warning\[hidden\]\s*\{\s*display:\s*none;/)
  })

  it('connects only to the WebSocket API paths: prices, market-stats, positions, liquidations, events', () => {
    const paths = new Set(matches(js, /openStream\(\s*[`']([a-z-]+)/g))
    expect(paths).toEqual(new Set(['prices', 'market-stats', 'positions', 'liquidations', 'events']))
    expect(js).toContain('/api/v1/ws/')
  })

  it('loads nothing from another origin: no CDN, no external URL', () => {
    expect(html).toMatch(/<script src="dashboard\.js" defer><\/script>/)
    expect(html).toMatch(/<link rel="stylesheet" href="dashboard\.css">/)
    for (const text of [html, js, css]) expect(text).not.toMatch(/(src|href)=["']?(https?:)?\/\//)
    expect(code).not.toMatch(/\bfetch\(|\bXMLHttpRequest\b|https?:\/\//)
    expect(code).toContain('://${location.host}/api/v1/ws/')
    expect(markets).toEqual(['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp'])
  })

  it('is a script the browser can parse', () => {
    expect(() => new Script(js, { filename: 'dashboard.js' })).not.toThrow()
  })
})
