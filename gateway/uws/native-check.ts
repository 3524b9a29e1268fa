// uWebSockets.js (this build, @trufflesuite/uws-js-unofficial) resolves to the native addon
// binaries/uws_<platform>_<arch>_<abi>.node, but when that require throws, or UWS_USE_FALLBACK is set,
// it returns a JavaScript re-implementation on top of `ws` instead, printing only a console line.
// The fallback has neither the speed nor the backpressure rules the gateway relies on, so the
// transport refuses to start on it. The check asks two things the fallback cannot fake by accident:
// the module object is the exports of a loaded `.node` addon, and its App is a native function.
import { createRequire } from 'node:module'
import { UwsNotNativeError } from './uws-errors.ts'

const nativeSource = /\{\s*\[native code\]\s*\}\s*$/

/** Throws UwsNotNativeError unless `uws` is the native addon's exports. */
export function assertNativeUws(uws: unknown): void {
  if (typeof uws !== 'object' || uws === null) throw new UwsNotNativeError(`module is ${typeof uws}`)
  const app: unknown = Reflect.get(uws, 'App')
  if (typeof app !== 'function') throw new UwsNotNativeError('module has no App function')
  if (!nativeSource.test(Function.prototype.toString.call(app))) {
    throw new UwsNotNativeError('App is a JavaScript function')
  }
  const addon = loadedAddonExporting(uws)
  if (addon === undefined) throw new UwsNotNativeError('module is not the exports of a loaded .node addon')
}

/** The file name of the loaded native addon whose exports are `exports`, if any. */
export function loadedAddonExporting(exports: object): string | undefined {
  const cache = createRequire(import.meta.url).cache
  for (const [file, entry] of Object.entries(cache)) {
    if (file.endsWith('.node') && entry?.exports === exports) return file
  }
  return undefined
}
