// The `replay` command's configuration, from the environment or flags, validated with zod at start.
import { parseCommandLine, type ConfigOf, type ParsedCommandLine } from '../../indexer/runtime/command-line.ts'
import { readModelOptions } from '../config.ts'

export const replayCommand = {
  name: 'replay',
  summary:
    'Rebuilds the read models from offset 0 up to the end offsets at its start into a fresh file, swaps it in place of READ_MODEL_PATH atomically, and prints the state hash. Stop the projections that use the file first.',
  options: readModelOptions,
} as const

export type ReplayConfig = ConfigOf<typeof replayCommand.options>

export function parseReplayConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedCommandLine<typeof replayCommand.options> {
  return parseCommandLine(replayCommand, argv, env)
}
