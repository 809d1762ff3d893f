/**
 * The client's own keys: imported and checked once at startup, synchronously, so that a bad key is
 * a startup error and never a request-time surprise.
 *
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { failOption as fail } from '../errors.js'
import { importPrivateKey } from './private-key.js'
import type { JwsAlgorithm, SigningKeyInput } from './options.js'

export type { SigningKeyInput } from './options.js'

/** A checked signing key. Internal. */
export interface SigningKey {
  readonly kid: string
  readonly alg: JwsAlgorithm
  /** The private key, imported once; jose converts it to a CryptoKey once and caches it. */
  readonly privateKey: KeyObject
  /** The public half as a JWK, with `kid`, `alg` and `use`, for the client's JWKS. */
  readonly publicJwk: Readonly<JWK>
}

/** The algorithm a key signs with by default, from its type; RSA keys sign PS256, not RS256. */
function algorithmFor(key: KeyObject, where: string): JwsAlgorithm {
  const details = key.asymmetricKeyDetails
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      // FAPI 1.0 Baseline §5.2.4 (2), FAPI 2.0 §5.4.1: RSA keys of at least 2048 bits.
      if ((details?.modulusLength ?? 0) < 2048) fail(where, 'is an RSA key under 2048 bits')
      return 'PS256'
    case 'ec':
      if (details?.namedCurve !== 'prime256v1') {
        fail(where, `is an EC key on ${String(details?.namedCurve)}; use P-256 for ES256`)
      }
      return 'ES256'
    case 'ed25519':
      return 'EdDSA'
    default:
      fail(
        where,
        `is a ${String(key.asymmetricKeyType)} key; use RSA (PS256), P-256 (ES256) or Ed25519`,
      )
  }
}

/**
 * Imports and checks one signing key: a private asymmetric key with a `kid`, of a type the profile
 * allows, with an `alg` (if given) that the profile allows and that fits the key.
 *
 * @throws {FapiConfigError}
 */
export function importSigningKey(
  input: SigningKeyInput,
  where: string,
  allowed: readonly JwsAlgorithm[],
): SigningKey {
  const { kid, privateKey } = importPrivateKey(input, where, {
    kid: 'needs a "kid": the authorization server selects the verification key by kid',
    oct: 'is a symmetric key; FAPI forbids HS* algorithms',
  })
  const natural = algorithmFor(privateKey, where)
  const given: unknown = input.alg
  // RS256 only when listed (profile "oidc"), only when asked for, and only for a plain RSA key.
  const rs256 =
    given === 'RS256' && privateKey.asymmetricKeyType === 'rsa' && allowed.includes('RS256')
  const alg: JwsAlgorithm = rs256 ? 'RS256' : natural
  if (given !== undefined && given !== alg) {
    fail(
      where,
      `has alg "${String(given)}", which FAPI forbids or which does not fit the key; use "${natural}"`,
    )
  }
  if (!allowed.includes(alg)) {
    fail(
      where,
      `signs with ${alg}, which the profile does not allow (allowed: ${allowed.join(', ')})`,
    )
  }

  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  return Object.freeze({
    kid,
    alg,
    privateKey,
    publicJwk: Object.freeze({ ...publicJwk, kid, alg, use: 'sig' }),
  })
}
