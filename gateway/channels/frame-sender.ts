// Every frame leaves through here: one socket (send) or every socket of a topic (publish), counted
// by frame type and by what the transport did with it. A 'dropped' send is the transport's to act
// on (it closes a socket over its backpressure limit); the channels only count it.
import type { MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { SendResult } from '../transport/ws-transport.ts'
import type { GatewayConnection } from './connection-context.ts'

export interface Frame {
  readonly type: string
}

export interface FrameSender {
  send(connection: GatewayConnection, frame: Frame): SendResult
  /** Sends already-encoded text (a frame built once for many sockets). */
  sendText(connection: GatewayConnection, type: string, text: string): SendResult
  /** Publishes to a topic; `receivers` is how many sockets the topic has, for the count. */
  publish(topic: string, frame: Frame, receivers: number): void
  publishText(topic: string, type: string, text: string, receivers: number): void
}

export interface FrameSenderDeps {
  readonly metrics: MetricsRegistry
  /** The transport's publish, looked up at call time (the transport is built after the handlers). */
  readonly publish: (topic: string, text: string) => void
}

export function createFrameSender(deps: FrameSenderDeps): FrameSender {
  const messages = deps.metrics.counter('gateway_messages_total', 'Frames sent, by frame type and send result (published: per subscriber)')
  const sendText = (connection: GatewayConnection, type: string, text: string): SendResult => {
    const result = connection.send(text)
    messages.inc({ type, result })
    return result
  }
  const publishText = (topic: string, type: string, text: string, receivers: number): void => {
    if (receivers === 0) return
    deps.publish(topic, text)
    messages.inc({ type, result: 'published' }, receivers)
  }
  return {
    send: (connection, frame) => sendText(connection, frame.type, JSON.stringify(frame)),
    sendText,
    publish: (topic, frame, receivers) => publishText(topic, frame.type, JSON.stringify(frame), receivers),
    publishText,
  }
}
