import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ConfigError, optionSchemas, parseCommandLine } from './command-line.ts'
import { createLogger } from './logger.ts'
import { createMetricsRegistry } from './metrics.ts'
import { formatDuration, renderBar } from './progress.ts'

const command = {
  name: 'demo',
  summary: 'A demo command.',
  options: {
    rpcUrl: { env: 'RPC_URL', flag: '--rpc-url', description: 'JSON-RPC URL', schema: optionSchemas.url },
    port: { env: 'PORT', flag: '--port', description: 'port', schema: optionSchemas.port.default(9000) },
    brokers: { env: 'KAFKA_BROKERS', flag: '--kafka-brokers', description: 'brokers', schema: optionSchemas.brokers.optional() },
  },
} as const

describe('command line', () => {
  it('reads the environment and lets flags win over it', () => {
    const parsed = parseCommandLine(command, ['--port=9100'], { RPC_URL: 'http://a:1', PORT: '9200' })
    expect(parsed).toEqual({ kind: 'config', config: { rpcUrl: 'http://a:1', port: 9100, brokers: undefined } })
  })

  it('names the environment variable and flag of an invalid value', () => {
    expect(() => parseCommandLine(command, [], { RPC_URL: 'not a url' })).toThrowError(
      /RPC_URL \(--rpc-url\).*got "not a url"/,
    )
  })

  it('names a missing required variable', () => {
    try {
      parseCommandLine(command, [], {})
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).variable).toBe('RPC_URL')
      expect((error as ConfigError).message).toMatch(/it is not set/)
    }
  })

  it('rejects an unknown flag', () => {
    expect(() => parseCommandLine(command, ['--rpc-ur', 'x'], {})).toThrowError(/unknown option --rpc-ur/)
  })

  it('parses comma-separated brokers and rejects one without a port', () => {
    const ok = parseCommandLine(command, ['--kafka-brokers', 'a:9092, b:9093'], { RPC_URL: 'http://x' })
    expect(ok.kind === 'config' && ok.config.brokers).toEqual(['a:9092', 'b:9093'])
    expect(() => parseCommandLine(command, [], { RPC_URL: 'http://x', KAFKA_BROKERS: 'a' })).toThrowError(/KAFKA_BROKERS/)
  })

  it('prints help listing every flag and variable', () => {
    const parsed = parseCommandLine(command, ['--help'], {})
    expect(parsed.kind).toBe('help')
    if (parsed.kind !== 'help') return
    for (const option of Object.values(command.options)) {
      expect(parsed.text).toContain(option.flag)
      expect(parsed.text).toContain(option.env)
    }
  })

  it('coerces through the zod schema', () => {
    const spec = { name: 'x', summary: '', options: { on: { env: 'ON', flag: '--on', description: '', schema: optionSchemas.boolean.default(false) } } }
    const parsed = parseCommandLine(spec, ['--on'], {})
    expect(parsed.kind === 'config' && parsed.config.on).toBe(true)
    expect(z.object({}).safeParse({}).success).toBe(true)
  })
})

describe('logger', () => {
  it('writes one JSON line per entry with level, time, message and fields, above the threshold', () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'info', write: (l) => lines.push(l), now: () => new Date(0) })
    logger.debug('hidden')
    logger.child({ component: 'indexer' }).warn('behind', { blocks: 3n, error: new Error('boom', { cause: new Error('root') }) })
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      level: 'warn',
      time: '1970-01-01T00:00:00.000Z',
      msg: 'behind',
      component: 'indexer',
      blocks: '3',
      error: { name: 'Error', message: 'boom', cause: { name: 'Error', message: 'root' } },
    })
  })
})

describe('metrics', () => {
  it('renders counters, gauges and histograms in the Prometheus text format', () => {
    const registry = createMetricsRegistry('t_')
    registry.counter('rpc_errors_total', 'RPC errors by kind').inc({ kind: 'timeout' }, 2)
    registry.gauge('blocks_behind', 'blocks behind head').set(7)
    registry.histogram('latency_seconds', 'latency', [0.1, 1]).observe(0.5, { path: 'a"b' })
    expect(registry.render()).toBe(
      [
        '# HELP t_rpc_errors_total RPC errors by kind',
        '# TYPE t_rpc_errors_total counter',
        't_rpc_errors_total{kind="timeout"} 2',
        '# HELP t_blocks_behind blocks behind head',
        '# TYPE t_blocks_behind gauge',
        't_blocks_behind 7',
        '# HELP t_latency_seconds latency',
        '# TYPE t_latency_seconds histogram',
        't_latency_seconds_bucket{path="a\\"b",le="0.1"} 0',
        't_latency_seconds_bucket{path="a\\"b",le="1"} 1',
        't_latency_seconds_bucket{path="a\\"b",le="+Inf"} 1',
        't_latency_seconds_sum{path="a\\"b"} 0.5',
        't_latency_seconds_count{path="a\\"b"} 1',
        '',
      ].join('\n'),
    )
  })

  it('refuses to register one name twice', () => {
    const registry = createMetricsRegistry()
    registry.counter('x', 'x')
    expect(() => registry.gauge('x', 'x')).toThrowError(/registered twice/)
  })
})

describe('progress bar', () => {
  it('shows percent, counts, rate and ETA', () => {
    const line = renderBar({ label: 'backfill', unit: 'events', done: 25_000, total: 100_000, rate: 12_500, eta: 6 }, 10)
    expect(line).toBe('backfill [==>       ]  25.0% 25,000/100,000 events 12.5k events/s ETA 6s')
  })

  it('formats durations', () => {
    expect([formatDuration(59), formatDuration(61), formatDuration(3661)]).toEqual(['59s', '1m01s', '1h01m'])
  })
})
