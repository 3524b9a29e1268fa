// docker-compose.yml cannot be run here (no Docker engine), so its structure is checked instead:
// the services of the distributed setup, two `serve` replicas that share nothing but Kafka, and an
// environment every variable of which the service's command reads and accepts.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { serveCommand } from '../gateway/config.ts'
import { indexerCommand } from '../indexer/config.ts'
import { parseCommandLine, type CommandSpec, type OptionSpecs } from '../indexer/runtime/command-line.ts'
import { devnetCommand } from '../scripts/devnet/devnet-config.ts'

const service = z.object({
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  ports: z.array(z.string()).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
})
const composeFile = z.object({ services: z.record(z.string(), service), volumes: z.record(z.string(), z.unknown().nullable()).optional() })

const compose = composeFile.parse(parse(readFileSync(join(import.meta.dirname, '..', 'docker-compose.yml'), 'utf8'), { merge: true }))
const services = compose.services

/** The command each Node service runs, by its entry file. */
const commands: Readonly<Record<string, CommandSpec<OptionSpecs>>> = {
  'indexer/main.ts': indexerCommand,
  'gateway/main.ts': serveCommand,
  'scripts/devnet/main.ts': devnetCommand,
}

/** Compose's ${VAR:-default} interpolation, with nothing set in the environment. */
const interpolated = (value: string): string => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')

function nodeServices(): [string, CommandSpec<OptionSpecs>, Record<string, string>][] {
  return Object.entries(services).flatMap(([name, s]) => {
    const entry = s.command?.find((part) => part in commands)
    return entry === undefined ? [] : [[name, commands[entry]!, s.environment ?? {}] as [string, CommandSpec<OptionSpecs>, Record<string, string>]]
  })
}

describe('docker-compose.yml', () => {
  it('runs Kafka in KRaft mode from the apache/kafka image, anvil, the devnet, the indexer and two serve replicas', () => {
    expect(services['kafka']?.image).toMatch(/^apache\/kafka:3\.9\./)
    expect(services['kafka']?.environment?.['KAFKA_PROCESS_ROLES']).toBe('broker,controller')
    expect(services['anvil']?.image).toMatch(/foundry/)
    expect(nodeServices().map(([name, command]) => [name, command.name]).sort()).toEqual([
      ['devnet', 'devnet'],
      ['indexer', 'indexer'],
      ['serve-1', 'serve'],
      ['serve-2', 'serve'],
    ])
  })

  it('sets only variables the command of each service reads, and values it accepts', () => {
    for (const [name, command, environment] of nodeServices()) {
      const known = new Set(Object.values(command.options).map((option) => option.env))
      expect(Object.keys(environment).filter((variable) => !known.has(variable)), `${name} sets variables ${command.name} does not read`).toEqual([])
      const env = Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, interpolated(v)]))
      expect(() => parseCommandLine(command, [], env), `${name}'s environment`).not.toThrow()
    }
  })

  it('gives each serve replica its own consumer group and its own read-model volume, and the same Kafka', () => {
    const replicas = nodeServices().filter(([, command]) => command.name === 'serve')
    const groups = replicas.map(([, , env]) => env['GROUP_ID'])
    expect(new Set(groups).size).toBe(2)
    const dataVolumes = replicas.map(([name]) => services[name]?.volumes?.find((v) => v.endsWith(':/data')))
    expect(dataVolumes.every((v) => v !== undefined)).toBe(true)
    expect(new Set(dataVolumes).size).toBe(2)
    for (const [, , env] of replicas) {
      expect(env['READ_MODEL_PATH']?.startsWith(`${env['DATA_DIR']}/`)).toBe(true)
      expect(env['KAFKA_BROKERS']).toBe('kafka:9092')
    }
    expect(new Set(replicas.map(([name]) => services[name]?.ports?.[0]?.split(':')[0])).size).toBe(2)
  })

  it('points the indexer at the Kafka broker, the anvil chain and the devnet price feed', () => {
    const indexer = services['indexer']?.environment ?? {}
    expect(services['kafka']?.environment?.['KAFKA_ADVERTISED_LISTENERS']).toContain(indexer['KAFKA_BROKERS'])
    expect(indexer['RPC_URL']).toMatch(/^ws:\/\/anvil:8545$/)
    expect(indexer['HERMES_URL']).toBe(`http://devnet:${services['devnet']?.environment?.['HERMES_PORT']}`)
  })
})
