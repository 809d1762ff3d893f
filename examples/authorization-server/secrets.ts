/**
 * The authorization server's signing keys and cookie keys: made at first start and kept in a
 * git-ignored folder (`examples/authorization-server/.data/` by default), readable by the owner.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, type JWK } from 'jose'

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
export async function loadServerSecrets(dir: string): Promise<ServerSecrets> {
  const file = join(dir, 'secrets.json')
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text !== undefined) {
    const parsed: unknown = JSON.parse(text)
    if (!isSecrets(parsed)) throw new Error(`${file} is not usable: delete it to make new keys`)
    return parsed
  }
  const secrets: ServerSecrets = {
    signingKeys: [await signingKey('PS256'), await signingKey('ES256')],
    cookieKeys: [randomBytes(32).toString('base64url')],
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  return secrets
}
