// The benchmark's child processes: each a tsx process with an IPC channel, asked one thing at a time
// and answering with one message. 'advanced' serialization carries the latency histograms as typed
// arrays.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ClientCommand, ClientReply, ServerCommand, ServerKind, ServerReply } from './fanout-protocol.ts'

export interface Child<Command, Reply> {
  readonly pid: number
  /** Sends `command` and resolves with the child's next message. */
  ask(command: Command): Promise<Reply>
  /** The first message, sent unasked once the child is ready. */
  readonly ready: Promise<Reply>
  stop(command: Command): Promise<void>
}

function spawnChild<Command, Reply>(file: string, args: readonly string[], execArgv: readonly string[] = []): Child<Command, Reply> {
  const child: ChildProcess = fork(fileURLToPath(new URL(file, import.meta.url)), [...args], {
    execArgv: ['--import', 'tsx', ...execArgv],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiting: ((reply: Reply) => void)[] = []
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.on('message', (message) => waiting.shift()?.(message as Reply))
  const next = (): Promise<Reply> =>
    new Promise((resolve, reject) => {
      waiting.push(resolve)
      void exited.then(() => reject(new Error(`${file} exited`)))
    })
  const ready = next()
  return {
    pid: child.pid ?? -1,
    ready,
    ask(command) {
      const reply = next()
      child.send(command as object)
      return reply
    },
    async stop(command) {
      if (child.exitCode === null) child.send(command as object)
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Asks and checks that the answer is of the type expected. */
export async function askFor<Command, Reply extends { readonly type: string }, T extends Reply['type']>(
  child: Child<Command, Reply>,
  command: Command,
  type: T,
): Promise<Extract<Reply, { readonly type: T }>> {
  const reply = await child.ask(command)
  if (reply.type !== type) throw new Error(`fanout bench: expected a ${type} reply, got ${reply.type}`)
  return reply as Extract<Reply, { readonly type: T }>
}

export type ServerChild = Child<ServerCommand, ServerReply>
export type ClientChild = Child<ClientCommand, ClientReply>

/** The server gets --expose-gc so that its RSS is read after a full collection. */
export function spawnServer(kind: ServerKind): ServerChild {
  return spawnChild<ServerCommand, ServerReply>('./fanout-server.ts', [kind], ['--expose-gc'])
}

export function spawnClient(): ClientChild {
  return spawnChild<ClientCommand, ClientReply>('./fanout-client.ts', [])
}
