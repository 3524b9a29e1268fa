// `npm run schemas`: writes docs/schemas/<topic>.schema.json from the zod schemas.
// `npm run schemas -- --check`: writes nothing, exits 1 naming each file that is stale or missing.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jsonSchemaDocuments, renderJsonSchema } from './json-schemas.ts'

const schemaDirectory = fileURLToPath(new URL('../../docs/schemas/', import.meta.url))

/** The result of a read, or `absent` when the file or directory does not exist. */
async function unlessMissing<T>(read: Promise<T>, absent: T): Promise<T> {
  try {
    return await read
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return absent
    throw error
  }
}

async function main(check: boolean): Promise<number> {
  const documents = jsonSchemaDocuments()
  const shown = (fileName: string): string => relative(process.cwd(), `${schemaDirectory}${fileName}`)
  const generated = new Set(documents.map((document) => document.fileName))
  const present = (await unlessMissing(readdir(schemaDirectory), [])).filter((name) => name.endsWith('.schema.json'))
  const orphans = present.filter((name) => !generated.has(name))
  const stale: string[] = []

  for (const document of documents) {
    const path = `${schemaDirectory}${document.fileName}`
    const text = renderJsonSchema(document)
    if ((await unlessMissing(readFile(path, 'utf8'), undefined)) === text) continue
    stale.push(document.fileName)
    if (!check) {
      await mkdir(schemaDirectory, { recursive: true })
      await writeFile(path, text)
      console.log(`wrote ${shown(document.fileName)}`)
    }
  }

  if (check) for (const name of stale) console.error(`${shown(name)} is stale: run \`npm run schemas\``)
  for (const name of orphans) console.error(`${shown(name)} belongs to no topic: delete it`)
  if (stale.length === 0 && orphans.length === 0) console.log('docs/schemas is up to date')
  return (check && stale.length > 0) || orphans.length > 0 ? 1 : 0
}

process.exitCode = await main(process.argv.includes('--check'))
