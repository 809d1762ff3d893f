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
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { loadOrCreateSecrets } from '../shared/secrets-file.js'

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
export function loadPortalSecrets(dir: string): Promise<PortalSecrets> {
  return loadOrCreateSecrets(dir, isSecrets, createSecrets)
}
