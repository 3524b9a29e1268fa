// Which sockets follow raw events, and how: live on their topic at once, or after a replay from
// their cursor (resume.ts). It also counts the live sockets per topic, for the fanout's counts.
import type { GatewayConnection } from './connection-context.ts'
import { startResume, type Resume, type ResumeDeps } from './resume.ts'
import { rawTopicOf } from './topics.ts'

export interface RawSubscriptions {
  /** Starts the socket's raw events, if its path has any. */
  follow(connection: GatewayConnection): void
  /** Forgets the socket, ending its replay if one is in flight. */
  forget(connection: GatewayConnection): void
  /** Sockets subscribed live to a raw topic. */
  liveCount(topic: string): number
  /** Ends every replay in flight (at shutdown). */
  cancelAll(): void
}

export function createRawSubscriptions(resume: ResumeDeps): RawSubscriptions {
  const resumes = new Map<GatewayConnection, Resume>()
  const live = new Map<GatewayConnection, string>()
  const counts = new Map<string, number>()

  function goLive(connection: GatewayConnection, topic: string): void {
    live.set(connection, topic)
    counts.set(topic, (counts.get(topic) ?? 0) + 1)
  }

  return {
    follow(connection) {
      const topic = rawTopicOf(connection.context.route)
      if (topic === undefined) return
      const from = connection.context.resumeFrom
      if (from === undefined) {
        connection.subscribe(topic)
        goLive(connection, topic)
        return
      }
      const onLive = (): void => {
        resumes.delete(connection)
        goLive(connection, topic)
      }
      resumes.set(connection, startResume(connection, topic, from, resume, onLive))
    },
    forget(connection) {
      resumes.get(connection)?.cancel()
      resumes.delete(connection)
      const topic = live.get(connection)
      if (topic === undefined) return
      live.delete(connection)
      const left = (counts.get(topic) ?? 1) - 1
      if (left === 0) counts.delete(topic)
      else counts.set(topic, left)
    },
    liveCount: (topic) => counts.get(topic) ?? 0,
    cancelAll() {
      for (const resume of resumes.values()) resume.cancel()
      resumes.clear()
    },
  }
}
