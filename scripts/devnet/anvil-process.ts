// A local anvil devnet as a child process, for `npm start` and for the tests: the native binary of
// @foundry-rs/anvil, ready once eth_chainId answers, gone once stop() resolves.
//
// No orphan is left behind, however the parent ends:
// - stop() signals anvil's own process group (SIGTERM, then SIGKILL after a grace period) and
//   resolves only after anvil has exited and been reaped;
// - a normal exit of the parent kills it from a process 'exit' hook;
// - a parent that dies without running any code (SIGKILL, a crash) takes anvil with it: on Linux
//   anvil is started through `setpriv --pdeathsig KILL`, so the kernel sends it SIGKILL when the
//   parent dies.
// anvil runs in a process group of its own, so the terminal's Ctrl-C reaches only the parent, which
// can then stop its users of the chain before the chain itself.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

const DEFAULT_HOST = '127.0.0.1'
const READY_TIMEOUT_MS = 15_000
const STOP_GRACE_MS = 5_000
const STDERR_TAIL_CHARS = 16_000
/** anvil prints this once its RPC server is bound; with --port 0 it is how the port is learnt. */
const LISTENING = /Listening on (\S+):(\d+)/
const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv']

export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'

export interface AnvilAccount {
  readonly address: `0x${string}`
  readonly privateKey: `0x${string}`
}

/** The accounts anvil derives from its default mnemonic (m/44'/60'/0'/0/i), with 10,000 ETH each. */
export const anvilAccounts: readonly AnvilAccount[] = [
  ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'],
  ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'],
  ['0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'],
  ['0x90F79bf6EB2c4f870365E785982E1f101E93b906', '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6'],
  ['0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65', '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a'],
  ['0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc', '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba'],
  ['0x976EA74026E726554dB657fA54763abd0C3a0aa9', '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e'],
  ['0x14dC79964da2C08b23698B3D3cc7Ca32193d9955', '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356'],
  ['0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f', '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97'],
  ['0xa0Ee7A142d267C1f36714E4a8F75612F20a79720', '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6'],
].map(([address, privateKey]) => ({ address, privateKey }) as AnvilAccount)

export interface AnvilOptions {
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string
  /** Port to bind; without it anvil picks a free one itself, so two anvils can never race for it. */
  readonly port?: number
  /** Seconds between blocks (interval mining). Without it every transaction is mined at once. */
  readonly blockTime?: number
  /** Keep no historical states. Anvil then refuses anvil_reorg, so reorg tests must leave it off. */
  readonly pruneHistory?: boolean
  /** Appended to the command line, e.g. ['--gas-limit', '300000000']. */
  readonly extraArgs?: readonly string[]
  readonly readyTimeoutMs?: number
}

export interface Anvil {
  readonly rpcUrl: string
  readonly wsUrl: string
  readonly port: number
  readonly chainId: number
  /** anvil's own pid (not a wrapper's). */
  readonly pid: number
  readonly accounts: readonly AnvilAccount[]
  readonly process: ChildProcess
  /** The tail of anvil's stderr. */
  stderr(): string
  /** Kills anvil and resolves once it has exited. Safe to call more than once. */
  stop(): Promise<void>
}

export class AnvilStartError extends Error {
  override readonly name = 'AnvilStartError'
  constructor(
    message: string,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(stderr.trim() === '' ? message : `${message}\nanvil stderr:\n${stderr.trim()}`, options)
  }

  get portInUse(): boolean {
    return /address already in use|os error 98/i.test(this.stderr)
  }
}

/**
 * The native binary of the platform package rather than node_modules/.bin/anvil: that wrapper is a
 * node process that forwards only SIGINT and SIGTERM, so a SIGKILL would orphan anvil.
 */
function anvilBinary(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch]
  const executable = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
  try {
    return createRequire(import.meta.url).resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/${executable}`)
  } catch {
    return fileURLToPath(new URL('../../node_modules/.bin/anvil', import.meta.url))
  }
}

/** setpriv (util-linux) when present: it sets the parent-death signal and execs, keeping the pid. */
function parentDeathWrapper(): readonly string[] {
  if (process.platform !== 'linux') return []
  for (const path of SETPRIV_PATHS) {
    try {
      accessSync(path, constants.X_OK)
      return [path, '--pdeathsig', 'KILL', '--']
    } catch {
      // not at this path
    }
  }
  return []
}

function keepTail(stream: Readable | null): () => string {
  let text = ''
  stream?.setEncoding('utf8')
  stream?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-STDERR_TAIL_CHARS)
  })
  return () => text
}

/**
 * Resolves with the port from anvil's "Listening on" line. stdout is anvil's request log, so it is
 * read to the end either way: a full pipe would block anvil.
 */
function listeningPort(stream: Readable | null): Promise<number> {
  return new Promise((resolve) => {
    let head: string | undefined = ''
    stream?.setEncoding('utf8')
    stream?.on('data', (chunk: string) => {
      if (head === undefined) return
      head = (head + chunk).slice(-STDERR_TAIL_CHARS)
      const match = LISTENING.exec(head)
      if (match === null) return
      head = undefined
      resolve(Number(match[2]))
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function rpc(url: string, method: string): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
    signal: AbortSignal.timeout(1_000),
  })
  const body: unknown = await response.json()
  if (typeof body !== 'object' || body === null || !('result' in body)) {
    throw new Error(`${method} answered without a result: ${JSON.stringify(body)}`)
  }
  return body.result
}

/** Polls eth_chainId until it answers; throws when anvil exits first or the deadline passes. */
async function waitForChainId(rpcUrl: string, exitReason: () => string | undefined, deadline: number): Promise<number> {
  let lastError: unknown
  for (;;) {
    const exit = exitReason()
    if (exit !== undefined) throw new Error(`anvil ${exit} before answering eth_chainId`, { cause: lastError })
    if (Date.now() >= deadline) {
      throw new Error(`anvil did not answer eth_chainId on ${rpcUrl} in time`, { cause: lastError })
    }
    try {
      const result = await rpc(rpcUrl, 'eth_chainId')
      if (typeof result === 'string') return Number(BigInt(result))
      lastError = new Error(`eth_chainId answered ${JSON.stringify(result)}`)
    } catch (error) {
      lastError = error
    }
    await sleep(50)
  }
}

/** Waits for the port anvil reports, failing if it exits first or the deadline passes. */
async function waitForPort(port: Promise<number>, exited: Promise<void>, exitReason: () => string | undefined, deadline: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('anvil did not report its port in time')), Math.max(0, deadline - Date.now()))
  })
  const exit = exited.then((): never => {
    throw new Error(`anvil ${exitReason() ?? 'exited'} before listening`)
  })
  try {
    return await Promise.race([port, timeout, exit])
  } finally {
    clearTimeout(timer)
  }
}

async function defaultAccounts(rpcUrl: string): Promise<readonly AnvilAccount[]> {
  const addresses = await rpc(rpcUrl, 'eth_accounts')
  const known = anvilAccounts.slice(0, Array.isArray(addresses) ? addresses.length : 0)
  const matches =
    Array.isArray(addresses) &&
    known.every((account, i) => String(addresses[i]).toLowerCase() === account.address.toLowerCase())
  if (!matches) throw new Error(`anvil's accounts are not the default mnemonic's: ${JSON.stringify(addresses)}`)
  return known
}

function commandLine(host: string, options: AnvilOptions): string[] {
  return [
    '--host',
    host,
    '--port',
    String(options.port ?? 0),
    ...(options.blockTime === undefined ? [] : ['--block-time', String(options.blockTime)]),
    ...(options.pruneHistory === true ? ['--prune-history'] : []),
    ...(options.extraArgs ?? []),
  ]
}

interface Spawned {
  readonly child: ChildProcess
  readonly pid: number
  readonly stderr: () => string
  readonly port: Promise<number>
  readonly exited: Promise<void>
  exitReason(): string | undefined
  stop(): Promise<void>
}

function spawnAnvil(command: readonly string[]): Spawned {
  const [file, ...args] = command as [string, ...string[]]
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const stderr = keepTail(child.stderr)
  const port = listeningPort(child.stdout)
  // A forgotten anvil must not keep the parent alive; the exit hook below then kills it.
  child.unref()
  ;(child.stdout as Socket | null)?.unref()
  ;(child.stderr as Socket | null)?.unref()
  let exitReason: string | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitReason = `exited (${signal ?? `code ${code}`})`
      resolve()
    })
    child.once('error', (error) => {
      exitReason = `failed to start (${error.message})`
      resolve()
    })
  })
  const signal = (name: NodeJS.Signals): void => {
    if (exitReason !== undefined || child.pid === undefined) return
    try {
      process.kill(-child.pid, name)
    } catch {
      child.kill(name)
    }
  }
  const killOnExit = (): void => signal('SIGKILL')
  process.once('exit', killOnExit)
  void exited.then(() => process.off('exit', killOnExit))

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (exitReason !== undefined) return
      signal('SIGTERM')
      const escalation = setTimeout(() => signal('SIGKILL'), STOP_GRACE_MS)
      await exited
      clearTimeout(escalation)
    })())
  return { child, pid: child.pid ?? -1, stderr, port, exited, exitReason: () => exitReason, stop }
}

/** Starts anvil and resolves once it answers JSON-RPC with the default mnemonic's accounts. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const host = options.host ?? DEFAULT_HOST
  const command = [...parentDeathWrapper(), anvilBinary(), ...commandLine(host, options)]
  const spawned = spawnAnvil(command)
  const deadline = Date.now() + (options.readyTimeoutMs ?? READY_TIMEOUT_MS)
  try {
    const port = await waitForPort(spawned.port, spawned.exited, spawned.exitReason, deadline)
    const rpcHost = host === '0.0.0.0' ? DEFAULT_HOST : host.includes(':') ? `[${host}]` : host
    const rpcUrl = `http://${rpcHost}:${port}`
    const chainId = await waitForChainId(rpcUrl, spawned.exitReason, deadline)
    const accounts = await defaultAccounts(rpcUrl)
    return {
      rpcUrl,
      wsUrl: `ws://${rpcHost}:${port}`,
      port,
      chainId,
      pid: spawned.pid,
      accounts,
      process: spawned.child,
      stderr: spawned.stderr,
      stop: spawned.stop,
    }
  } catch (cause) {
    await spawned.stop()
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw new AnvilStartError(`${reason} (${command.join(' ')})`, spawned.stderr(), { cause })
  }
}
