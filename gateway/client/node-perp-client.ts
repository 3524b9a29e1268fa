// The client for Node 20, which has no global WebSocket: the same client over the `ws` package.
import WebSocket from 'ws'
import type { PerpClient, PerpClientOptions } from './perp-client.ts'
import { createPerpClient } from './perp-client.ts'

export function createNodePerpClient(options: Omit<PerpClientOptions, 'WebSocket'>): PerpClient {
  return createPerpClient({ ...options, WebSocket })
}
