// The transport's handlers: what each path and each client frame gets.
// - upgrade: an unknown path is a 404 and a malformed user address a 400, before any upgrade;
// - open: a malformed ?from= cursor or an unknown market is an error frame, then close 1008;
//   otherwise the channel sends connected and the first snapshot, and the socket goes live on its
//   raw events at once, or after a replay from its cursor;
// - message: {"type":"ping"} is answered with pong, anything else with a bad_frame error frame.
import { MalformedCursorError, parseCursor } from '../protocol/cursor.ts'
import { errorFrame, pongFrame } from '../protocol/frames.ts'
import { clientPing, type PathKind } from '../protocol/messages.ts'
import { parseWsPath, resumeParameter, type Route } from '../protocol/paths.ts'
import type { WsHandlers } from '../transport/ws-transport.ts'
import type { Channel } from './channel.ts'
import type { ConnectionContext, GatewayConnection } from './connection-context.ts'
import type { ConnectionRegistry } from './connection-registry.ts'
import type { FrameSender } from './frame-sender.ts'
import type { RawSubscriptions } from './raw-subscriptions.ts'
import { rawTopicOf } from './topics.ts'

const CLOSE_POLICY = 1008

export interface WsHandlersDeps {
  readonly channels: ReadonlyMap<PathKind, Channel>
  readonly registry: ConnectionRegistry
  readonly sender: FrameSender
  readonly raw: RawSubscriptions
  readonly http: WsHandlers<ConnectionContext>['http']
}

function isPing(text: string): boolean {
  try {
    return clientPing.safeParse(JSON.parse(text)).success
  } catch {
    return false
  }
}

/** The socket's context; ?from= counts only on the paths that carry raw events. */
function contextOf(query: string, route: Route): ConnectionContext {
  const from = rawTopicOf(route) === undefined ? undefined : resumeParameter(query)
  if (from === undefined) return { route, resumeFrom: undefined, cursorError: undefined }
  try {
    return { route, resumeFrom: parseCursor(from), cursorError: undefined }
  } catch (error) {
    if (!(error instanceof MalformedCursorError)) throw error
    return { route, resumeFrom: undefined, cursorError: error.message }
  }
}

export function createWsHandlers(deps: WsHandlersDeps): WsHandlers<ConnectionContext> {
  const { registry, sender, raw } = deps

  const refuse = (connection: GatewayConnection, code: string, message: string): void => {
    sender.send(connection, errorFrame(code, message))
    connection.close(CLOSE_POLICY, code)
  }

  return {
    upgrade(request) {
      const parsed = parseWsPath(request.path)
      if (!parsed.ok) return { accept: false, status: parsed.status, body: parsed.message }
      return { accept: true, context: contextOf(request.query, parsed.route) }
    },
    open(connection) {
      const { route, cursorError } = connection.context
      if (cursorError !== undefined) return refuse(connection, 'bad_cursor', cursorError)
      const channel = deps.channels.get(route.kind)
      if (channel === undefined) return refuse(connection, 'unknown_path', `no channel for ${route.kind}`)
      const opened = channel.open(connection)
      if (!opened.ok) return refuse(connection, opened.code, opened.message)
      registry.add(connection)
      raw.follow(connection)
    },
    message(connection, text) {
      if (isPing(text)) sender.send(connection, pongFrame())
      else sender.send(connection, errorFrame('bad_frame', 'the only frame a client may send is {"type":"ping"}'))
    },
    close(connection) {
      raw.forget(connection)
      if (registry.remove(connection)) deps.channels.get(connection.context.route.kind)?.close(connection)
    },
    http: deps.http,
  }
}
