// The spec's own JavaScript examples (docs/WEBSOCKET_API.md), taken from the document as they are
// and run unchanged in a vm context that gives them what a browser would: a global WebSocket (the
// `ws` package's, since Node 20 has none), console (captured), setTimeout and clearTimeout (tracked,
// so a test can cancel what the examples left scheduled).
//
// The examples connect to the spec's base URL, ws://localhost:8000. The tests' gateway listens on a
// free port instead, so the context's WebSocket, a subclass of ws's that changes nothing else, dials
// that address when given the spec's base URL.
import { format } from 'node:util'
import { createContext, runInContext, type Context } from 'node:vm'
import WebSocket from 'ws'

export const SPEC_BASE_URL = 'ws://localhost:8000'

export class SpecExampleNotFoundError extends Error {
  override readonly name = 'SpecExampleNotFoundError'
  constructor(what: string) {
    super(`the spec has no ${what}`)
  }
}

/** The lines of the `## …` section whose heading contains `heading`, up to the next `## ` heading. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n')
  const start = lines.findIndex((line) => line.startsWith('## ') && line.includes(heading))
  if (start === -1) throw new SpecExampleNotFoundError(`section "${heading}"`)
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '))
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n')
}

/** The ```javascript blocks of a section, in document order, without their fences. */
export function javascriptBlocks(markdown: string, heading: string): string[] {
  const blocks: string[] = []
  const fence = /^```javascript\n([\s\S]*?)^```$/gm
  for (const match of section(markdown, heading).matchAll(fence)) blocks.push(match[1] ?? '')
  return blocks
}

/** The first JavaScript example of "1. Price Stream". */
export function priceStreamExample(markdown: string): string {
  const [first] = javascriptBlocks(markdown, '1. Price Stream')
  if (first === undefined) throw new SpecExampleNotFoundError('JavaScript example in "1. Price Stream"')
  return first
}

/** The WebSocketManager class of "Best Practices". */
export function webSocketManagerExample(markdown: string): string {
  const block = javascriptBlocks(markdown, 'Best Practices').find((code) => code.includes('class WebSocketManager'))
  if (block === undefined) throw new SpecExampleNotFoundError('WebSocketManager class in "Best Practices"')
  return block
}

export interface LoggedLine {
  readonly level: 'log' | 'error' | 'warn'
  readonly text: string
}

export interface SpecExampleContext {
  readonly context: Context
  /** Every console line the examples printed, in order. */
  readonly logs: readonly LoggedLine[]
  /** Runs a script in the context (the examples, and the test's own calls into them). */
  run(code: string): unknown
  /** Terminates every socket the examples opened and cancels every timer they left. */
  dispose(): void
}

/** A context whose WebSocket dials `gatewayOrigin` (ws://host:port) for the spec's base URL. */
export function createSpecExampleContext(gatewayOrigin: string): SpecExampleContext {
  const logs: LoggedLine[] = []
  const sockets = new Set<WebSocket>()
  const timers = new Set<NodeJS.Timeout>()
  class SpecWebSocket extends WebSocket {
    constructor(url: string) {
      super(url.startsWith(SPEC_BASE_URL) ? gatewayOrigin + url.slice(SPEC_BASE_URL.length) : url)
      sockets.add(this)
    }
  }
  const line = (level: LoggedLine['level']) => (...args: unknown[]) => void logs.push({ level, text: format(...args) })
  const context = createContext({
    WebSocket: SpecWebSocket,
    console: { log: line('log'), error: line('error'), warn: line('warn') },
    setTimeout: (callback: () => void, ms: number) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        callback()
      }, ms)
      timers.add(timer)
      return timer
    },
    clearTimeout: (timer: NodeJS.Timeout) => {
      timers.delete(timer)
      clearTimeout(timer)
    },
  })
  return {
    context,
    logs,
    run: (code) => runInContext(code, context),
    dispose() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const socket of sockets) socket.terminate()
      sockets.clear()
    },
  }
}
