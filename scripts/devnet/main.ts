// The `devnet` command: against a running anvil, deploys the reference contract with the three
// markets listed (unless CONTRACT_ADDRESS names one), serves the local Hermes-compatible price feed
// and runs the trading simulator, until SIGINT or SIGTERM. docker-compose runs it beside anvil;
// `npm start` does the same in process. On a fresh anvil the first deployment from the default
// account lands at 0x5fbdb2315678afecb367f032d93f642f64180aa3, which the compose file relies on.
import { ConfigError, parseCommandLine } from '../../indexer/runtime/command-line.ts'
import { createLogger } from '../../indexer/runtime/logger.ts'
import { anvilAccounts } from './anvil-process.ts'
import { devnetCommand } from './devnet-config.ts'
import { startDevnet } from './devnet.ts'


async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine<typeof devnetCommand.options>>
  try {
    parsed = parseCommandLine(devnetCommand, process.argv.slice(2), process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    return 2
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text)
    return 0
  }
  const { config } = parsed
  const logger = createLogger({ level: config.logLevel, fields: { component: 'devnet' } })
  const devnet = await startDevnet({
    ...{ rpcUrl: config.rpcUrl, chainId: config.chainId, accounts: anvilAccounts, logger },
    ...{ hermesHost: config.hermesHost, hermesPort: config.hermesPort, seed: config.seed, simulate: config.simulate },
    ...(config.contractAddress === undefined ? {} : { contract: config.contractAddress }),
    ...(config.hermesApiKey === undefined ? {} : { hermesApiKey: config.hermesApiKey }),
  })
  logger.info('devnet running', { contract: devnet.contract, deployBlock: String(devnet.deployBlock), hermesUrl: devnet.hermes.url })
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await devnet.stop()
  return 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`devnet failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
