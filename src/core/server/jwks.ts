/**
 * The authorization server's public keys, from its `jwks_uri`: fetched once, shared, refetched
 * when an unknown `kid` appears (OIDC Core §10.1.1: rotation), with refetches drawn from a small
 * refilling budget so that a storm of bogus kids cannot become a storm of fetches, while the first
 * unknown kid after a fetch (a real rotation) is still fetched at once, and an unknown kid is always
 * fetched once the last fetch is older than a short cooldown (bogus kids cannot starve a rotation).
 *
 * Keys are chosen by `kid` plus `kty`, `crv`, `alg`, `use` and `key_ops` (FAPI 1.0 Advanced §8.11,
 * FAPI 2.0 §5.4.3). Header parameters that point elsewhere (`jku`, `x5u`, `jwk`, `x5c`) are never
 * read (RFC 8725 §3.10).
 *
 * @module
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { JwsAlgorithm } from '../../config/index.js'
import { ServerResponseError } from '../../errors.js'
import type { KeyManagementAlgorithm } from '../../config/encryption-keys.js'
import { requestJson, type HttpOptions } from '../transport/http.js'
import { log } from '../log.js'

/** What a key must look like to verify a signature made with an algorithm. */
const KEY_SHAPE: Readonly<Record<JwsAlgorithm, { kty: string; crv?: string }>> = {
  PS256: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  RS256: { kty: 'RSA' },
}

interface CachedKey {
  readonly jwk: Readonly<Record<string, unknown>>
  readonly key: KeyObject
}

/** Why no key was returned. */
export type KeyLookupFailure = 'not-found' | 'ambiguous'

/** Options of a {@link RemoteJwks}. */
export interface RemoteJwksOptions extends HttpOptions {
  readonly now: () => number
  /** Refetches allowed in a burst. Default 3. */
  readonly refetchBurst?: number
  /** Milliseconds to earn one more refetch. Default 60 000. */
  readonly refetchInterval?: number
  /** Milliseconds after which keys are refreshed on next use (kept if the refresh fails). Default 10 min. */
  readonly maxAge?: number
  /**
   * Milliseconds after the last fetch when an unknown kid is always fetched, budget or not, so
   * that bogus kids that spend the budget cannot hide a real rotation for longer. Default 10 000.
   */
  readonly refetchCooldown?: number
}

function parseKeys(body: Record<string, unknown>): CachedKey[] {
  if (!Array.isArray(body.keys)) {
    throw new ServerResponseError('ERR_JWKS_INVALID', 'jwks: "keys" is not an array')
  }
  const keys: CachedKey[] = []
  for (const entry of body.keys as unknown[]) {
    // RFC 7517 §5: keys that cannot be understood are ignored, not fatal.
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) continue
    const jwk = entry as Record<string, unknown>
    if (typeof jwk.kty !== 'string' || 'd' in jwk || jwk.kty === 'oct') continue
    try {
      keys.push({
        jwk: Object.freeze({ ...jwk }),
        key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
      })
    } catch {
      continue
    }
  }
  return keys
}

function matches(jwk: Readonly<Record<string, unknown>>, alg: JwsAlgorithm, kid: unknown): boolean {
  const shape = KEY_SHAPE[alg]
  if (jwk.kty !== shape.kty) return false
  if (shape.crv !== undefined && jwk.crv !== shape.crv) return false
  if (kid !== undefined && jwk.kid !== kid) return false
  if (jwk.alg !== undefined && jwk.alg !== alg) return false
  if (jwk.use !== undefined && jwk.use !== 'sig') return false
  if (
    jwk.key_ops !== undefined &&
    !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))
  ) {
    return false
  }
  return true
}

/** The key types each key management algorithm encrypts to. */
function fitsEncryption(jwk: Readonly<Record<string, unknown>>, alg: KeyManagementAlgorithm) {
  if (alg.startsWith('RSA-OAEP')) return jwk.kty === 'RSA'
  return (
    (jwk.kty === 'EC' && ['P-256', 'P-384', 'P-521'].includes(String(jwk.crv))) ||
    (jwk.kty === 'OKP' && jwk.crv === 'X25519')
  )
}

/** A server key to encrypt to. */
export interface ServerEncryptionKey {
  readonly key: KeyObject
  readonly kid: string | undefined
  readonly alg: KeyManagementAlgorithm
}

/** One authorization server's JWKS. Internal. */
export class RemoteJwks {
  readonly #options: RemoteJwksOptions
  readonly #uri: () => Promise<string>
  #keys: CachedKey[] | undefined
  #fetchedAt = 0
  #attemptedAt = Number.NEGATIVE_INFINITY
  #pending: Promise<CachedKey[]> | undefined
  #budget: number
  #budgetAt: number
  /** How many times the JWKS was fetched; for tests and the benchmark. */
  fetches = 0

  constructor(uri: () => Promise<string>, options: RemoteJwksOptions) {
    this.#uri = uri
    this.#options = options
    this.#budget = options.refetchBurst ?? 3
    this.#budgetAt = options.now()
  }

  /** Fetches the keys if none are cached yet. */
  async load(): Promise<void> {
    await this.#current()
  }

  /**
   * The public key for a JWS header, or why there is none. `header.alg` must already be checked
   * against the allow-list.
   */
  async select(header: {
    alg: JwsAlgorithm
    kid?: unknown
  }): Promise<KeyObject | KeyLookupFailure> {
    let keys = await this.#current()
    let found = this.#find(keys, header)
    if (found === 'not-found' && this.#takeRefetch()) {
      log.keys('no server key for kid/alg %s: refetching the JWKS', header.alg)
      keys = await this.#fetch()
      found = this.#find(keys, header)
    }
    return found
  }

  /**
   * The server's encryption key for the first algorithm of `algorithms` it can serve: a key with
   * `use: enc` (a signing key is never used to encrypt, RFC 7517 §4.2), of a fitting type, whose
   * `alg`, when given, is that algorithm. An absent key causes one refetch from the budget.
   */
  async encryptionKey(
    algorithms: readonly KeyManagementAlgorithm[],
  ): Promise<ServerEncryptionKey | undefined> {
    const pick = (keys: readonly CachedKey[]) => {
      for (const alg of algorithms) {
        const found = keys.find(
          ({ jwk }) =>
            jwk.use === 'enc' &&
            fitsEncryption(jwk, alg) &&
            (jwk.alg === undefined || jwk.alg === alg),
        )
        if (found !== undefined) {
          const kid = typeof found.jwk.kid === 'string' ? found.jwk.kid : undefined
          return { key: found.key, kid, alg }
        }
      }
      return undefined
    }
    const found = pick(await this.#current())
    if (found !== undefined || !this.#takeRefetch()) return found
    return pick(await this.#fetch())
  }

  #find(
    keys: readonly CachedKey[],
    header: { alg: JwsAlgorithm; kid?: unknown },
  ): KeyObject | KeyLookupFailure {
    const candidates = keys.filter((cached) => matches(cached.jwk, header.alg, header.kid))
    if (candidates.length === 0) return 'not-found'
    if (candidates.length > 1) return 'ambiguous'
    return (candidates[0] as CachedKey).key
  }

  async #current(): Promise<CachedKey[]> {
    if (this.#keys === undefined) return this.#fetch()
    const maxAge = this.#options.maxAge ?? 600_000
    if (this.#options.now() - this.#fetchedAt > maxAge) {
      // Stale keys are refreshed in the background: a slow or failed refresh neither delays nor
      // stops logins that the cached keys can verify (an unknown kid still waits for a fetch).
      this.#fetch().catch(() => undefined)
    }
    return this.#keys
  }

  #takeRefetch(): boolean {
    const interval = this.#options.refetchInterval ?? 60_000
    const burst = this.#options.refetchBurst ?? 3
    const now = this.#options.now()
    // Any fetch after a rotation finds the new keys, so one is always allowed once the last is
    // older than the cooldown: junk that spent the budget delays a rotation by that much at most.
    if (now - this.#attemptedAt >= (this.#options.refetchCooldown ?? 10_000)) return true
    const earned = Math.floor((now - this.#budgetAt) / interval)
    if (earned > 0) {
      this.#budget = Math.min(burst, this.#budget + earned)
      this.#budgetAt += earned * interval
    }
    if (this.#budget <= 0) return false
    this.#budget -= 1
    return true
  }

  #fetch(): Promise<CachedKey[]> {
    this.#pending ??= this.#load().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  async #load(): Promise<CachedKey[]> {
    this.#attemptedAt = this.#options.now()
    const uri = await this.#uri()
    this.fetches += 1
    const { status, body } = await requestJson(uri, { method: 'GET' }, this.#options, 'jwks')
    if (status !== 200) throw new ServerResponseError('ERR_AS_HTTP_STATUS', `jwks: HTTP ${status}`)
    const keys = parseKeys(body)
    log.keys('server JWKS fetched: %d usable keys', keys.length)
    this.#keys = keys
    this.#fetchedAt = this.#options.now()
    return keys
  }
}
