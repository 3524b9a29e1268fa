// Configuration of every command: each option has an environment variable and a flag, and a zod
// schema that validates and coerces it. Flags win over the environment. Everything is validated
// at start, and an error names the variable and flag that were wrong, so a bad deployment fails
// before it touches a chain or a log.
import { z } from 'zod'

export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  readonly env: string
  readonly flag: string
  readonly description: string
  readonly schema: S
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>

export type ConfigOf<T extends OptionSpecs> = { [K in keyof T]: z.output<T[K]['schema']> }

export interface CommandSpec<T extends OptionSpecs> {
  readonly name: string
  readonly summary: string
  readonly options: T
}

export type ParsedCommandLine<T extends OptionSpecs> =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'config'; readonly config: ConfigOf<T> }

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    message: string,
    readonly variable: string | undefined,
  ) {
    super(message)
  }
}

export function parseCommandLine<T extends OptionSpecs>(
  command: CommandSpec<T>,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedCommandLine<T> {
  if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help', text: helpText(command) }
  const flags = readFlags(command, argv)
  const config: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(command.options)) {
    const raw = flags.get(spec.flag) ?? emptyToUndefined(env[spec.env])
    const result = spec.schema.safeParse(raw)
    if (!result.success) {
      const issue = result.error.issues[0]
      const shown = raw === undefined ? 'it is not set' : `got ${JSON.stringify(raw)}`
      throw new ConfigError(
        `invalid configuration: ${spec.env} (${spec.flag}): ${issue?.message ?? 'invalid'}; ${shown}`,
        spec.env,
      )
    }
    config[key] = result.data
  }
  return { kind: 'config', config: config as ConfigOf<T> }
}

function readFlags<T extends OptionSpecs>(command: CommandSpec<T>, argv: readonly string[]): Map<string, string> {
  const known = new Set(Object.values(command.options).map((o) => o.flag))
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (!arg.startsWith('--')) throw new ConfigError(`${command.name}: unexpected argument ${JSON.stringify(arg)}; see --help`, undefined)
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg : arg.slice(0, eq)
    if (!known.has(flag)) throw new ConfigError(`${command.name}: unknown option ${flag}; see --help`, undefined)
    let value: string | undefined
    if (eq !== -1) value = arg.slice(eq + 1)
    else if (argv[i + 1] !== undefined && !(argv[i + 1] ?? '').startsWith('--')) value = argv[++i]
    else value = 'true'
    flags.set(flag, value ?? '')
  }
  return flags
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

export function helpText<T extends OptionSpecs>(command: CommandSpec<T>): string {
  const rows = Object.values(command.options).map((o) => [`  ${o.flag} <value>`, o.env, o.description] as const)
  const width0 = Math.max(...rows.map((r) => r[0].length))
  const width1 = Math.max(...rows.map((r) => r[1].length))
  const lines = rows.map(([flag, env, description]) => `${flag.padEnd(width0)}  ${env.padEnd(width1)}  ${description}`)
  return [
    `Usage: ${command.name} [options]`,
    '',
    command.summary,
    '',
    'Options (each can also be set by the environment variable beside it; flags win):',
    ...lines,
    `  --help${' '.repeat(Math.max(1, width0 - 6))}  ${''.padEnd(width1)}  Show this help`,
    '',
  ].join('\n')
}

/** Schemas shared by the commands' options. */
export const optionSchemas = {
  port: z.coerce.number().int().min(0).max(65_535),
  positiveInt: z.coerce.number().int().positive(),
  nonNegativeInt: z.coerce.number().int().nonnegative(),
  url: z.url(),
  boolean: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
  brokers: z
    .string()
    .transform((v) => v.split(',').map((b) => b.trim()).filter((b) => b !== ''))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port[,host:port]'))),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
} as const
