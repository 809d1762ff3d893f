/**
 * PKCE with S256 (RFC 7636), the only method FAPI allows.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { randomToken } from '../jwt/random.js'

/** A fresh verifier and its S256 challenge. */
export interface Pkce {
  readonly codeVerifier: string
  readonly codeChallenge: string
}

/** `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2). */
export function s256(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url')
}

/** A verifier from 32 random octets (RFC 7636 §4.1) and its challenge, new for every login. */
export function createPkce(): Pkce {
  const codeVerifier = randomToken()
  return { codeVerifier, codeChallenge: s256(codeVerifier) }
}
