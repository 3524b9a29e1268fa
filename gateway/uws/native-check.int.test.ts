// The native check against the real package: the addon this machine loads passes, and the package's
// own fallback (forced with UWS_USE_FALLBACK in a child process, since the choice is made once per
// process at require time) is refused before the transport starts.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import uws from 'uWebSockets.js'
import { describe, expect, it } from 'vitest'
import { assertNativeUws, loadedAddonExporting } from './native-check.ts'
import { UwsNotNativeError } from './uws-errors.ts'

const transportModule = fileURLToPath(new URL('./uws-transport.ts', import.meta.url))
const limitsModule = fileURLToPath(new URL('./uws-test-kit.ts', import.meta.url))
const metricsModule = fileURLToPath(new URL('../../indexer/runtime/metrics.ts', import.meta.url))
const loggerModule = fileURLToPath(new URL('../../indexer/runtime/logger.ts', import.meta.url))

function startTransportInChild(env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const script = `
    import { createUwsTransport } from ${JSON.stringify(transportModule)}
    import { testLimits } from ${JSON.stringify(limitsModule)}
    import { createMetricsRegistry } from ${JSON.stringify(metricsModule)}
    import { silentLogger } from ${JSON.stringify(loggerModule)}
    const handlers = { upgrade: () => ({ accept: false, status: 404, body: '' }), open() {}, message() {}, close() {}, http: () => undefined }
    try {
      const transport = createUwsTransport(handlers, testLimits, { logger: silentLogger, metrics: createMetricsRegistry() })
      await transport.close()
      console.log('STARTED')
    } catch (error) {
      console.log(error.name + ': ' + error.message)
    }
  `
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

describe('native uWebSockets.js check', () => {
  it('passes the addon this machine loads, which is a .node file of the package', () => {
    expect(() => assertNativeUws(uws)).not.toThrow()
    expect(loadedAddonExporting(uws)).toMatch(/uWebSockets\.js\/binaries\/uws_.*\.node$/)
  })

  it('refuses module objects that are not the addon: a JavaScript App, no App, not an object', () => {
    expect(() => assertNativeUws({ App: () => ({}) })).toThrowError(/App is a JavaScript function/)
    expect(() => assertNativeUws({ ...uws })).toThrowError(/not the exports of a loaded .node addon/)
    expect(() => assertNativeUws({})).toThrowError(UwsNotNativeError)
    expect(() => assertNativeUws(undefined)).toThrowError(UwsNotNativeError)
  })

  it('starts on the native addon in a fresh process', () => {
    const child = startTransportInChild({ UWS_USE_FALLBACK: '' })
    expect(child.output).toContain('STARTED')
  })

  it('refuses to start when the package fell back to its JavaScript implementation', () => {
    const child = startTransportInChild({ UWS_USE_FALLBACK: '1' })
    expect(child.output).toContain('Using µWS fallback implementation')
    expect(child.output).toContain('UwsNotNativeError: uWebSockets.js is not the native addon')
    expect(child.output).not.toContain('STARTED')
  })
})
