// A real anvil per test file: the devnet's anvil process (scripts/devnet/anvil-process.ts) on a port
// anvil picks itself on 127.0.0.1, killed by stop() or, failing that, when the test process ends.
export {
  ANVIL_MNEMONIC,
  AnvilStartError,
  anvilAccounts,
  startAnvil,
  type Anvil,
  type AnvilAccount,
  type AnvilOptions,
} from '../../scripts/devnet/anvil-process.ts'
