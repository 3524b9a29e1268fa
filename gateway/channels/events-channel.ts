// events: connected, then every raw blockchain event as it is folded (raw-event-fanout.ts). There
// is no snapshot on this path.
import { eventsConnectedFrame } from '../protocol/frames.ts'
import { accepted, type Channel, type ChannelDeps } from './channel.ts'

export function createEventsChannel(deps: Pick<ChannelDeps, 'sender'>): Channel {
  return {
    open(connection) {
      deps.sender.send(connection, eventsConnectedFrame())
      return accepted
    },
    close: () => undefined,
    tick: () => undefined,
  }
}
