// `npm run asyncapi`: writes docs/asyncapi.json from the zod schemas of the WebSocket frames.
// `npm run asyncapi -- --check`: writes nothing, exits 1 when docs/asyncapi.json is stale or missing.
import { readFile, writeFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { asyncApiDocument, renderAsyncApi } from './asyncapi.ts'

const documentPath = fileURLToPath(new URL('../../docs/asyncapi.json', import.meta.url))

async function checkedIn(): Promise<string | undefined> {
  try {
    return await readFile(documentPath, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

async function main(check: boolean): Promise<number> {
  const shown = relative(process.cwd(), documentPath)
  const text = renderAsyncApi(asyncApiDocument())
  if ((await checkedIn()) === text) {
    console.log(`${shown} is up to date`)
    return 0
  }
  if (check) {
    console.error(`${shown} is stale: run \`npm run asyncapi\``)
    return 1
  }
  await writeFile(documentPath, text)
  console.log(`wrote ${shown}`)
  return 0
}

process.exitCode = await main(process.argv.includes('--check'))
