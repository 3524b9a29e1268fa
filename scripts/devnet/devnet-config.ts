// The `devnet` command's options (scripts/devnet/main.ts): the environment and flags it reads.
import { z } from 'zod'
import { optionSchemas } from '../../indexer/runtime/command-line.ts'

export const devnetCommand = {
  name: 'devnet',
  summary: 'Deploys the reference contract on a running anvil, serves a local Pyth price feed and runs the trading simulator.',
  options: {
    rpcUrl: { env: 'RPC_URL', flag: '--rpc-url', description: "anvil's HTTP JSON-RPC (default http://127.0.0.1:8545)", schema: optionSchemas.url.default('http://127.0.0.1:8545') },
    chainId: { env: 'CHAIN_ID', flag: '--chain-id', description: "The chain's id (default 31337, anvil's)", schema: optionSchemas.positiveInt.default(31_337) },
    contractAddress: {
      env: 'CONTRACT_ADDRESS',
      flag: '--contract-address',
      description: 'Trade on this deployed contract instead of deploying one',
      schema: z.string().regex(/^0x[0-9a-fA-F]{40}$/, { error: 'expected an address: 0x and 40 hex digits' }).transform((a) => a.toLowerCase() as `0x${string}`).optional(),
    },
    hermesHost: { env: 'HERMES_HOST', flag: '--hermes-host', description: 'Interface of the price feed (default 127.0.0.1)', schema: z.string().min(1).default('127.0.0.1') },
    hermesPort: { env: 'HERMES_PORT', flag: '--hermes-port', description: 'Port of the price feed (default 8090)', schema: optionSchemas.port.default(8_090) },
    hermesApiKey: { env: 'HERMES_API_KEY', flag: '--hermes-api-key', description: 'Require this API key from price feed clients', schema: z.string().min(1).optional() },
    seed: { env: 'SEED', flag: '--seed', description: 'Seed of the price walk and the traders (default 1)', schema: optionSchemas.nonNegativeInt.default(1) },
    simulate: { env: 'SIMULATE', flag: '--simulate', description: 'Run the trading simulator (default true)', schema: optionSchemas.boolean.default(true) },
    logLevel: { env: 'LOG_LEVEL', flag: '--log-level', description: 'debug, info, warn, error or silent (default info)', schema: optionSchemas.logLevel.default('info') },
  },
} as const
