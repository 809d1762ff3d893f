/**
 * The portal's secrets: its private signing keys and the session secret. Made at first start and
 * kept in a git-ignored folder (`examples/portal/.data/` by default), readable by the owner only.
 *
 * Key rotation: the authorization server fetches the portal's public keys from its `jwks_uri`
 * (`/.well-known/jwks.json`). To rotate, add a new key at the end of `signingKeys` and restart
 * (it is published, not yet used); once the server's cache has expired (5 minutes: the
 * `Cache-Control` of the JWKS route), move it to the front and restart (now it signs); later,
 * remove the old one.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, type JWK } from 'jose'

export interface PortalSecrets {
  /** Private JWKs, each with a `kid`; the first one signs. */
  readonly signingKeys: readonly (JWK & { kid: string })[]
  readonly sessionSecret: string
}

function isSecrets(value: unknown): value is PortalSecrets {
  if (typeof value !== 'object' || value === null) return false
  const { signingKeys, sessionSecret } = value as Record<string, unknown>
  return (
    typeof sessionSecret === 'string' &&
    sessionSecret.length >= 32 &&
    Array.isArray(signingKeys) &&
    signingKeys.length > 0 &&
    signingKeys.every(
      (key: unknown) =>
        typeof key === 'object' && key !== null && typeof (key as JWK).kid === 'string',
    )
  )
}

async function createSecrets(): Promise<PortalSecrets> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const signingKey = { ...(await exportJWK(privateKey)), kid: `portal-${randomUUID()}` }
  return { signingKeys: [signingKey], sessionSecret: randomBytes(32).toString('base64url') }
}

/** Reads `secrets.json` from `dir`, or creates it on first start. */
export async function loadPortalSecrets(dir: string): Promise<PortalSecrets> {
  const file = join(dir, 'secrets.json')
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text !== undefined) {
    const parsed: unknown = JSON.parse(text)
    if (!isSecrets(parsed)) throw new Error(`${file} is not usable: delete it to make new secrets`)
    return parsed
  }
  const secrets = await createSecrets()
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  return secrets
}
