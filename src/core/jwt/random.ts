/**
 * Unguessable values: 32 random octets, base64url-encoded (43 characters of `[A-Za-z0-9_-]`).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'

/**
 * 256 bits from the system CSPRNG as base64url: fit for `state`, `nonce`, `jti` and the PKCE
 * verifier (RFC 7636 §4.1, §7.1; FAPI 2.0 §5.3.3.2 (7): a nonce of at most 64 characters).
 */
export function randomToken(): string {
  return randomBytes(32).toString('base64url')
}
