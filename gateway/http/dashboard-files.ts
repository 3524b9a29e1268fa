// The dashboard's static files, served at / from gateway/dashboard/: exactly these three names, so
// no request path ever reaches the file system. Read at each request (they are small), so the
// dashboard can be edited without a restart; a missing file is a 404.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { HttpResponse } from '../transport/ws-transport.ts'

const files: Readonly<Record<string, { readonly name: string; readonly contentType: string }>> = {
  '/': { name: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/index.html': { name: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/dashboard.js': { name: 'dashboard.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { name: 'dashboard.css', contentType: 'text/css; charset=utf-8' },
}

export const defaultDashboardDir = new URL('../dashboard/', import.meta.url).pathname

/** The file's response, or undefined when the path is not a dashboard file or the file is missing. */
export async function dashboardFile(dir: string, path: string): Promise<HttpResponse | undefined> {
  const file = Object.hasOwn(files, path) ? files[path] : undefined
  if (file === undefined) return undefined
  try {
    const body = await readFile(join(dir, file.name))
    return { status: 200, contentType: file.contentType, body, headers: { 'cache-control': 'no-cache' } }
  } catch {
    return undefined
  }
}

export function isDashboardPath(path: string): boolean {
  return Object.hasOwn(files, path)
}
