/**
 * Unguessable values: 32 random octets, base64url-encoded (43 characters of `[A-Za-z0-9_-]`).
 *
 * @module
 */
import { randomFillSync } from 'node:crypto'

/** Tokens drawn per call to the system CSPRNG: one call costs about as much as 30 draws. */
const BATCH = 64
const pool = Buffer.alloc(32 * BATCH)
let next = pool.length

/**
 * 256 bits from the system CSPRNG as base64url: fit for `state`, `nonce`, `jti` and the PKCE
 * verifier (RFC 7636 §4.1, §7.1; FAPI 2.0 §5.3.3.2 (7): a nonce of at most 64 characters). The
 * CSPRNG fills a batch of 64 at a time (as Node's `randomUUID()` does); each is used once and
 * wiped from the batch as it is taken.
 */
export function randomToken(): string {
  if (next === pool.length) {
    randomFillSync(pool)
    next = 0
  }
  const token = pool.toString('base64url', next, next + 32)
  pool.fill(0, next, next + 32)
  next += 32
  return token
}
