// Plain HTTP on uWebSockets.js, by its rules: the request object lives only until the handler
// returns, so everything is copied out first; onAborted is registered before anything can await, and
// after an abort the response is never touched again; a write after an await is corked.
import { STATUS_CODES } from 'node:http'
import type { HttpRequest, HttpResponse as UwsResponse } from 'uWebSockets.js'
import type { Logger } from '../../indexer/runtime/logger.ts'
import type { HttpRequestInfo, HttpResponse, WsHandlers } from '../transport/ws-transport.ts'
import { decodePath, remoteAddress } from './request-text.ts'

type HttpHandler = WsHandlers<unknown>['http']

const notFound: HttpResponse = { status: 404, contentType: 'text/plain; charset=utf-8', body: 'not found' }
const badPath: HttpResponse = { status: 400, contentType: 'text/plain; charset=utf-8', body: 'malformed path' }
const failed: HttpResponse = { status: 500, contentType: 'text/plain; charset=utf-8', body: 'internal error' }

export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown'}`
}

/** Answers one plain HTTP request through `http`; never throws, whatever the handler does. */
export function serveHttp(res: UwsResponse, req: HttpRequest, http: HttpHandler, logger: Logger): void {
  const state = { aborted: false }
  res.onAborted(() => {
    state.aborted = true
  })
  const path = decodePath(req.getUrl())
  if (path === undefined) {
    writeResponse(res, badPath)
    return
  }
  const request: HttpRequestInfo = {
    method: req.getCaseSensitiveMethod(),
    path,
    query: req.getQuery() ?? '',
    ip: remoteAddress(res),
  }
  let answer: ReturnType<HttpHandler>
  try {
    answer = http(request)
  } catch (error) {
    logger.error('http handler threw', { path: request.path, error: asError(error) })
    writeResponse(res, failed)
    return
  }
  if (!(answer instanceof Promise)) {
    writeResponse(res, answer ?? notFound)
    return
  }
  answer.then(
    (response) => {
      if (!state.aborted) res.cork(() => writeResponse(res, response))
    },
    (error: unknown) => {
      logger.error('http handler failed', { path: request.path, error: asError(error) })
      if (!state.aborted) res.cork(() => writeResponse(res, failed))
    },
  )
}

function writeResponse(res: UwsResponse, response: HttpResponse): void {
  res.writeStatus(statusLine(response.status)).writeHeader('content-type', response.contentType)
  for (const [name, value] of Object.entries(response.headers ?? {})) res.writeHeader(name, value)
  res.end(response.body)
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
