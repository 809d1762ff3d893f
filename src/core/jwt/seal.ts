/**
 * Secrets sealed at rest: tokens and DPoP private keys that go to the session store (or to the
 * coordination store) are put in a JWE made with jose, `alg: dir` and `enc: A256GCM` under an
 * app-held 32-byte key named by `kid` in the protected header, so a dump of the store yields no
 * usable token. The header also carries what the sealed value belongs to (`bnd`), so a sealed value
 * moved to another record does not open. Rotation: the first key seals, every listed key opens.
 *
 * @module
 * @see RFC 7516; RFC 7518 §4.5 (dir), §5.3 (A256GCM)
 */
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose'
import type { SessionSecrets } from '../../config/index.js'

/** Seals a JSON value for `binding` with the current key. */
export async function seal(
  secrets: SessionSecrets,
  value: unknown,
  binding: string,
): Promise<string> {
  return new CompactEncrypt(Buffer.from(JSON.stringify(value), 'utf8'))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: secrets.current.kid, bnd: binding })
    .encrypt(secrets.current.key)
}

/**
 * Opens a sealed value made for `binding`; `undefined` when it does not open (unknown `kid`, a
 * key dropped from the list, another binding, tampering).
 */
export async function unseal(
  secrets: SessionSecrets,
  sealed: unknown,
  binding: string,
): Promise<unknown> {
  if (typeof sealed !== 'string' || sealed.length > 65_536) return undefined
  try {
    const header = decodeProtectedHeader(sealed)
    const key = typeof header.kid === 'string' ? secrets.byKid.get(header.kid) : undefined
    if (key === undefined || header.bnd !== binding) return undefined
    const { plaintext } = await compactDecrypt(sealed, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    })
    return JSON.parse(Buffer.from(plaintext).toString('utf8')) as unknown
  } catch {
    return undefined
  }
}
