// The `devnet` command: against a running anvil, deploys the reference contract with the three
// markets listed (unless CONTRACT_ADDRESS names one), serves the local Hermes-compatible price feed
// and runs the trading simulator, until SIGINT or SIGTERM. docker-compose runs it beside anvil;
// `npm start` does the same in process. On a fresh anvil the first deployment from the default
// account lands at 0x5fbdb2315678afecb367f032d93f642f64180aa3, which the compose file relies on.
import { parseCommandLine, type ConfigOf } from '../../indexer/runtime/command-line.ts'
import { commandMain } from '../../indexer/runtime/command-main.ts'
import { createLogger } from '../../indexer/runtime/logger.ts'
import { anvilAccounts } from './anvil-process.ts'
import { devnetCommand } from './devnet-config.ts'
import { startDevnet } from './devnet.ts'


async function run(config: ConfigOf<typeof devnetCommand.options>): Promise<number> {
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

commandMain('devnet', () => parseCommandLine(devnetCommand, process.argv.slice(2), process.env), run)
