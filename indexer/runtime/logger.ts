// Structured logs: one JSON object per line on stderr (stdout stays free for command output), with
// a level, an ISO time, the component and the fields of the call. LOG_LEVEL chooses the threshold.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const severity: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  child(fields: LogFields): Logger
  readonly level: LogLevel
}

export interface LoggerOptions {
  readonly level?: LogLevel
  readonly fields?: LogFields
  readonly write?: (line: string) => void
  readonly now?: () => Date
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  const write = options.write ?? ((line: string) => process.stderr.write(line))
  const now = options.now ?? (() => new Date())
  const base = options.fields ?? {}
  const emit = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (severity[at] < severity[level]) return
    const entry = { level: at, time: now().toISOString(), msg: message, ...base, ...serializeFields(fields) }
    write(`${JSON.stringify(entry, jsonReplacer)}\n`)
  }
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, level, fields: { ...base, ...fields } }),
  }
}

/** A logger that drops everything, for tests and library callers that do not want logs. */
export const silentLogger: Logger = createLogger({ level: 'silent' })

function serializeFields(fields: LogFields | undefined): Record<string, unknown> {
  if (fields === undefined) return {}
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) out[key] = value instanceof Error ? serializeError(value) : value
  return out
}

export function serializeError(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: error.message }
  if (error.cause instanceof Error) out['cause'] = serializeError(error.cause)
  else if (error.cause !== undefined) out['cause'] = String(error.cause)
  return out
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

export function parseLogLevel(text: string | undefined): LogLevel {
  const levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent']
  return levels.find((l) => l === text) ?? 'info'
}
