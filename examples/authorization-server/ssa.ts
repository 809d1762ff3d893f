/**
 * `npm run example:ssa -- --redirect-uri http://localhost:4000/auth/callback [--jwks-uri URL]`:
 * prints a software statement of the example directory (the key `npm start` uses, made on first
 * use; `--directory DIR` for another folder) for your own app, valid for a day. Give it to `fapiRegistration()` as `softwareStatement`
 * and the example banks register your app at their `/reg` endpoint: see examples/README.md.
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadDirectory } from './directory.js'

function absoluteUrl(name: string, value: string): string {
  try {
    return new URL(value).href
  } catch {
    throw new Error(`--${name} must be an absolute URL, got "${value}"`)
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'redirect-uri': { type: 'string', multiple: true },
      'jwks-uri': { type: 'string' },
      'software-id': { type: 'string' },
      directory: { type: 'string' },
    },
  })
  const redirectUris = (values['redirect-uri'] ?? ['http://localhost:4000/auth/callback']).map(
    (uri) => absoluteUrl('redirect-uri', uri),
  )
  const jwksUri = values['jwks-uri']
  const here = fileURLToPath(new URL('.', import.meta.url))
  const directory = await loadDirectory(values.directory ?? `${here}.data/directory`)
  const statement = await directory.sign({
    redirectUris,
    ...(jwksUri === undefined ? {} : { jwksUri: absoluteUrl('jwks-uri', jwksUri) }),
    ...(values['software-id'] === undefined ? {} : { softwareId: values['software-id'] }),
  })
  process.stderr.write(
    `A software statement of the example directory for ${redirectUris.join(', ')}, valid for a day:\n`,
  )
  process.stdout.write(`${statement}\n`)
}

main().catch((error: unknown) => {
  console.error(`example:ssa: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
