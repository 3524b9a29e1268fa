// What the answer reader (logs-answer-reader.ts) needs of the record mapping, as plain data: the
// chain id, the contract and the events' topic0s, computed here from the perp ABI, so that the
// reader itself imports neither viem nor zod.
import { toEventSelector, type Abi, type AbiEvent } from 'viem'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { addressPattern } from '../records/record-patterns.ts'
import type { LogToRecordDeps } from './log-to-record.ts'
import { READER_EVENTS, type AnswerReaderOptions, type ReaderEvent } from './answer-layout.ts'

const events = (perpExchangeAbi as Abi).filter((item): item is AbiEvent => item.type === 'event')

/**
 * The reader's options, or undefined where the parsed path would refuse every log (a contract or
 * chain id the records do not admit) or decodes with another ABI: then every answer is parsed.
 */
export function answerReaderOptions(deps: LogToRecordDeps): AnswerReaderOptions | undefined {
  const contract = deps.contract.toLowerCase()
  if (!addressPattern.test(contract) || !Number.isSafeInteger(deps.chainId) || deps.chainId < 0) return undefined
  const selectors = {} as Record<ReaderEvent, string>
  for (const name of READER_EVENTS) {
    const event = events.find((item) => item.name === name)
    if (event === undefined) return undefined
    const selector = toEventSelector(event)
    if (!deps.decoder.selectors.includes(selector)) return undefined
    selectors[name] = selector
  }
  return { chainId: deps.chainId, contract, selectors }
}
