import { spawn } from 'node:child_process'
import { readFileSync, readlinkSync } from 'node:fs'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { AnvilStartError, anvilAccounts, startAnvil, type Anvil } from './anvil-process.ts'

const started: Anvil[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((anvil) => anvil.stop()))
})

async function start(...args: Parameters<typeof startAnvil>): Promise<Anvil> {
  const anvil = await startAnvil(...args)
  started.push(anvil)
  return anvil
}

/** A zombie has exited and only waits to be reaped, so it counts as gone. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return process.platform !== 'linux'
  }
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return !isRunning(pid)
}

async function chainIdOf(rpcUrl: string): Promise<string> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
  })
  const body = (await response.json()) as { result: string }
  return body.result
}

describe('anvil as a child process', () => {
  it('listens on a port anvil picked itself and serves the default mnemonic accounts', async () => {
    const [a, b] = await Promise.all([start(), start()])
    expect(a!.port).toBeGreaterThan(0)
    expect(a!.port).not.toBe(b!.port)
    expect(a!.rpcUrl).toBe(`http://127.0.0.1:${a!.port}`)
    expect(a!.chainId).toBe(31337)
    expect(await chainIdOf(a!.rpcUrl)).toBe('0x7a69')
    expect(a!.accounts.map((account) => account.address)).toEqual(anvilAccounts.map((account) => account.address))
  })

  it.runIf(process.platform === 'linux')('runs the native anvil binary itself under the reported pid, not a wrapper', async () => {
    const anvil = await start()
    expect(basename(readlinkSync(`/proc/${anvil.pid}/exe`))).toBe('anvil')
    // Its own process group, so a terminal's Ctrl-C reaches the parent first.
    const stat = readFileSync(`/proc/${anvil.pid}/stat`, 'utf8')
    const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
    expect(processGroup).toBe(anvil.pid)
  })

  it('leaves no process behind once stop() resolves, and stop() may be called again', async () => {
    const anvil = await start()
    expect(isRunning(anvil.pid)).toBe(true)
    await anvil.stop()
    expect(isRunning(anvil.pid)).toBe(false)
    await anvil.stop()
    await expect(chainIdOf(anvil.rpcUrl)).rejects.toThrow()
  })

  it('fails with an AnvilStartError that knows the port was taken when the chosen port is in use', async () => {
    const first = await start()
    const error = await startAnvil({ port: first.port }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AnvilStartError)
    expect((error as AnvilStartError).portInUse).toBe(true)
    expect((error as AnvilStartError).message).toContain(`--port ${first.port}`)
  })

  it.runIf(process.platform === 'linux')('dies with its parent when the parent is killed with SIGKILL', async () => {
    const module = fileURLToPath(new URL('./anvil-process.ts', import.meta.url))
    const script = `const { startAnvil } = await import(${JSON.stringify(module)});
      const anvil = await startAnvil();
      process.stdout.write(JSON.stringify({ pid: anvil.pid }) + '\\n');
      setInterval(() => {}, 1000);`
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const anvilPid = await new Promise<number>((resolve, reject) => {
      let out = ''
      parent.stdout.setEncoding('utf8')
      parent.stdout.on('data', (chunk: string) => {
        out += chunk
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line !== undefined) resolve((JSON.parse(line) as { pid: number }).pid)
      })
      parent.once('exit', (code) => reject(new Error(`the parent exited (${code}) before starting anvil`)))
    })
    expect(isRunning(anvilPid)).toBe(true)
    const parentExited = new Promise((resolve) => parent.once('exit', resolve))
    parent.kill('SIGKILL')
    await parentExited
    expect(await waitUntilGone(anvilPid, 5_000)).toBe(true)
  })
})
