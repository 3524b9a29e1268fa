// One account's transactions to the exchange, strictly one at a time: each is signed with the
// account's next nonce only after the previous one is mined (or failed), so nonces never collide
// or leave gaps, whatever the node's mining mode. A failure is an outcome, never a throw: a
// simulator must outlive reverts.
import {
  BaseError,
  decodeErrorResult,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'

export interface ExchangeTransaction {
  /** For logs, e.g. "openPosition btc-usdc-perp". */
  readonly label: string
  /** Calldata for the exchange (encodeFunctionData with perpExchangeAbi). */
  readonly data: Hex
}

export type SendOutcome =
  | { readonly status: 'mined'; readonly receipt: TransactionReceipt }
  /** Mined, but the call reverted. */
  | { readonly status: 'reverted'; readonly hash: Hex }
  /** Never mined: gas estimation reverted, the node refused it, or no receipt came in time. */
  | { readonly status: 'rejected'; readonly reason: string }
  /** Still queued when the sender was closed. */
  | { readonly status: 'dropped' }

export interface AccountSender {
  readonly address: Address
  /** Transactions queued or in flight. */
  pending(): number
  /** Queues a transaction; resolves with its outcome and never rejects. */
  send(transaction: ExchangeTransaction): Promise<SendOutcome>
  /** Drops what is queued and resolves once the transaction in flight, if any, has settled. */
  close(): Promise<void>
}

export interface AccountSenderDeps {
  readonly publicClient: PublicClient
  readonly walletClient: WalletClient<Transport, Chain, Account>
  readonly contract: Address
  readonly logger: Logger
  /** How long to wait for a receipt before giving up on a transaction (default 30000). */
  readonly receiptTimeoutMs?: number
}

export function createAccountSender(deps: AccountSenderDeps): AccountSender {
  const address = deps.walletClient.account.address
  const logger = deps.logger.child({ account: address })
  let tail: Promise<unknown> = Promise.resolve()
  let pending = 0
  let closed = false

  const submit = async (transaction: ExchangeTransaction): Promise<SendOutcome> => {
    if (closed) return { status: 'dropped' }
    let hash: Hex
    try {
      hash = await deps.walletClient.sendTransaction({ to: deps.contract, data: transaction.data })
    } catch (error) {
      return { status: 'rejected', reason: revertReason(error) }
    }
    try {
      const receipt = await deps.publicClient.waitForTransactionReceipt({
        hash,
        timeout: deps.receiptTimeoutMs ?? 30_000,
      })
      return receipt.status === 'success' ? { status: 'mined', receipt } : { status: 'reverted', hash }
    } catch (error) {
      return { status: 'rejected', reason: `no receipt for ${hash}: ${revertReason(error)}` }
    }
  }

  const run = async (transaction: ExchangeTransaction): Promise<SendOutcome> => {
    const outcome = await submit(transaction)
    if (outcome.status === 'reverted') logger.warn('transaction reverted', { tx: transaction.label, hash: outcome.hash })
    if (outcome.status === 'rejected') logger.warn('transaction not mined', { tx: transaction.label, reason: outcome.reason })
    return outcome
  }

  return {
    address,
    pending: () => pending,
    send(transaction) {
      pending += 1
      const outcome = tail.then(() => run(transaction)).finally(() => void (pending -= 1))
      tail = outcome
      return outcome
    },
    async close() {
      closed = true
      await tail
    },
  }
}

/**
 * The contract's custom error when the failure carries revert data (e.g. "PositionHealthy(...)"),
 * else viem's short message.
 */
export function revertReason(error: unknown): string {
  if (!(error instanceof BaseError)) return error instanceof Error ? error.message : String(error)
  const withData = error.walk((e) => typeof revertData(e) === 'string')
  const data = withData === null ? undefined : revertData(withData)
  if (data !== undefined && data.length >= 10) {
    try {
      const decoded = decodeErrorResult({ abi: perpExchangeAbi, data })
      const args = (decoded.args ?? []).map((arg) => String(arg)).join(', ')
      return `${decoded.errorName}(${args})`
    } catch {
      // not one of the exchange's errors; fall through to the message
    }
  }
  return error.shortMessage
}

function revertData(error: unknown): Hex | undefined {
  if (typeof error !== 'object' || error === null || !('data' in error)) return undefined
  const data = error.data
  if (typeof data === 'string' && /^0x[0-9a-fA-F]*$/.test(data)) return data as Hex
  if (typeof data === 'object' && data !== null && 'data' in data && typeof data.data === 'string') {
    return /^0x[0-9a-fA-F]*$/.test(data.data) ? (data.data as Hex) : undefined
  }
  return undefined
}
