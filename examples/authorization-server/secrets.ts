/**
 * The authorization server's signing keys and cookie keys: made at first start and kept in a
 * git-ignored folder (`examples/authorization-server/.data/` by default), readable by the owner.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { loadOrCreateSecrets } from '../shared/secrets-file.js'

export interface ServerSecrets {
  /** Private JWKs for ID tokens and JARM responses: one PS256 (RSA) and one ES256 (P-256). */
  readonly signingKeys: readonly JWK[]
  /** Keys that sign the server's cookies. */
  readonly cookieKeys: readonly string[]
}

function isSecrets(value: unknown): value is ServerSecrets {
  if (typeof value !== 'object' || value === null) return false
  const { signingKeys, cookieKeys } = value as Record<string, unknown>
  return (
    Array.isArray(signingKeys) &&
    signingKeys.length > 0 &&
    Array.isArray(cookieKeys) &&
    cookieKeys.every((key: unknown) => typeof key === 'string' && key.length >= 32)
  )
}

async function signingKey(alg: 'PS256' | 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 })
  return {
    ...(await exportJWK(privateKey)),
    kid: `as-${alg.toLowerCase()}-${randomUUID()}`,
    alg,
    use: 'sig',
  }
}

/** Reads `secrets.json` from `dir`, or creates it on first start. */
export function loadServerSecrets(dir: string): Promise<ServerSecrets> {
  return loadOrCreateSecrets(dir, isSecrets, async () => ({
    signingKeys: [await signingKey('PS256'), await signingKey('ES256')],
    cookieKeys: [randomBytes(32).toString('base64url')],
  }))
}
