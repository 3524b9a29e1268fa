// A throwaway single-node Kafka broker for the test run and the benchmarks: scripts/kafka.sh on a
// free port with its own temporary directory, so it never collides with a broker started by hand
// on 9092 and leaves nothing behind once stopped.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.ts'

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'kafka.sh')
// A free port can be taken by another process before the broker binds it; then try other ports.
const PORT_ATTEMPTS = 3

/** scripts/kafka.sh's exit code when no java is on the PATH. */
export const JAVA_MISSING_EXIT_CODE = 3

export class KafkaStartError extends Error {
  override readonly name = 'KafkaStartError'
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(message)
  }
}

export interface KafkaBroker {
  /** host:port, ready for a client's `brokers` list. */
  readonly brokers: string
  readonly dir: string
  /** The last lines of the broker's own logs, to explain a failure before stop() deletes them. */
  logTail(lines?: number): Promise<string>
  /** Stops the broker and deletes its directory; safe to call more than once. */
  stop(): Promise<void>
}

export interface StartKafkaBrokerOptions {
  /** Prefix of the temporary directory's name. */
  readonly name?: string
  /** Called with each line scripts/kafka.sh prints. */
  readonly onOutput?: (line: string) => void
}

export async function startKafkaBroker(options: StartKafkaBrokerOptions = {}): Promise<KafkaBroker> {
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), `${options.name ?? 'kafka'}-`))
    const port = await freePort()
    const env = {
      KAFKA_DIR: dir,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
      KAFKA_OWNER_PID: String(process.pid),
    }
    const started = await runKafkaScript('start', env, options.onOutput)
    if (started.code === 0) return brokerHandle(`127.0.0.1:${port}`, dir, env, options.onOutput)
    await runKafkaScript('stop', env)
    await rm(dir, { recursive: true, force: true })
    if (attempt < PORT_ATTEMPTS && /already in use|BindException/i.test(started.output)) continue
    // The script's own message says what is missing when java is; otherwise show the log's tail.
    const message =
      started.code === JAVA_MISSING_EXIT_CODE
        ? lastLines(started.output, 2)
        : `scripts/kafka.sh start exited with ${String(started.code)}: ${lastLines(started.output, 12)}`
    throw new KafkaStartError(message, started.code, started.output)
  }
}

function brokerHandle(
  brokers: string,
  dir: string,
  env: Readonly<Record<string, string>>,
  onOutput: ((line: string) => void) | undefined,
): KafkaBroker {
  let stopped: Promise<void> | undefined
  return {
    brokers,
    dir,
    logTail: async (lines = 40) => {
      const tails = await Promise.all(
        ['server.log', 'console.log'].map(async (file) => {
          const text = await readFile(join(dir, file), 'utf8').catch(() => '')
          return `--- ${file} ---\n${lastLines(text, lines)}`
        }),
      )
      return tails.join('\n')
    },
    stop: () => {
      stopped ??= (async () => {
        await runKafkaScript('stop', env, onOutput)
        await rm(dir, { recursive: true, force: true })
      })()
      return stopped
    },
  }
}

interface ScriptResult {
  readonly code: number | null
  readonly output: string
}

function runKafkaScript(
  command: 'start' | 'stop',
  env: Readonly<Record<string, string>>,
  onOutput?: (line: string) => void,
): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script, command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8')
      output += text
      if (onOutput !== undefined) for (const line of text.split('\n')) if (line.trim() !== '') onOutput(line)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', (error) => resolve({ code: null, output: `${output}${error.message}\n` }))
    child.on('close', (code) => resolve({ code, output }))
  })
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n')
}
