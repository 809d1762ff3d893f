/**
 * The client's own keys: imported and checked once at startup, synchronously, so that a bad key is
 * a startup error and never a request-time surprise.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, type KeyObject, type JsonWebKey } from 'node:crypto'
import type { JWK } from 'jose'
import { FapiConfigError } from '../errors.js'
import type { JwsAlgorithm } from '../config.js'

/** A private key as given in the options: a private JWK with `kid`, or a `KeyObject` with a `kid`. */
export type SigningKeyInput =
  (JWK & { kid: string }) | { kid: string; key: KeyObject; alg?: JwsAlgorithm }

/** A checked signing key. Internal. */
export interface SigningKey {
  readonly kid: string
  readonly alg: JwsAlgorithm
  /** The private key, imported once; jose converts it to a CryptoKey once and caches it. */
  readonly privateKey: KeyObject
  /** The public half as a JWK, with `kid`, `alg` and `use`, for the client's JWKS. */
  readonly publicJwk: Readonly<JWK>
}

function fail(where: string, message: string): never {
  throw new FapiConfigError(`express-fapi: option "${where}" ${message}`)
}

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'KeyObject'
  )
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
  if (typeof input !== 'object' || input === null)
    fail(where, 'must be a private JWK or { kid, key }')
  const kid: unknown = input.kid
  if (typeof kid !== 'string' || kid === '') {
    fail(where, 'needs a "kid": the authorization server selects the verification key by kid')
  }
  let privateKey: KeyObject
  if ('key' in input && isKeyObject(input.key)) {
    privateKey = input.key
  } else if ('kty' in input && typeof input.kty === 'string') {
    if (input.kty === 'oct') fail(where, 'is a symmetric key; FAPI forbids HS* algorithms')
    try {
      privateKey = createPrivateKey({ key: input as JsonWebKey, format: 'jwk' })
    } catch (cause) {
      throw new FapiConfigError(
        `express-fapi: option "${where}" is not a usable private JWK (${(cause as Error).message})`,
      )
    }
  } else {
    fail(where, 'must be a private JWK or { kid, key: KeyObject }')
  }
  if (privateKey.type !== 'private') fail(where, 'must be a private key, not a public one')

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
