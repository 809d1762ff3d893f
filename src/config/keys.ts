/**
 * The client's own keys: imported and checked once at startup, synchronously, so that a bad key is
 * a startup error and never a request-time surprise.
 *
 * @module
 */
import { constants, createPublicKey, sign, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { failOption as fail } from '../errors.js'
import { importPrivateKey } from './private-key.js'
import type { JwsAlgorithm, KeyState, SigningKeyInput } from './options.js'
import { checkExternalSigner, isExternalSigner } from './signer.js'

export type { SigningKeyInput } from './options.js'

/**
 * A checked signing key: a private key held in the process (JWK or `KeyObject`) or an external
 * signer; either way, `sign` is the only way to its private half. Internal.
 */
export interface SigningKey {
  readonly kid: string
  readonly alg: JwsAlgorithm
  /** `active` signs; `next` and `retiring` are published but do not sign (key rotation). */
  readonly state: KeyState
  /** The key lives outside the process (an external signer). */
  readonly external: boolean
  /** The JWS signature of the signing input (RFC 7515 §5.1), raw `R || S` for ECDSA. */
  readonly sign: (data: Uint8Array) => Promise<Uint8Array>
  /** The public half as a JWK, with `kid`, `alg` and `use`, for the client's JWKS. */
  readonly publicJwk: Readonly<JWK>
}

/** A signature with a private key in the process, in the libuv threadpool. */
export function signWithKeyObject(
  alg: JwsAlgorithm,
  privateKey: KeyObject,
  data: Uint8Array,
): Promise<Uint8Array> {
  // RFC 7518 §3.5: PS256 is RSASSA-PSS with SHA-256, MGF1 SHA-256 and a 32-octet salt; §3.4:
  // ES256 signatures are R || S (IEEE P1363); §3.3: RS256 is RSASSA-PKCS1-v1_5; RFC 8037:
  // Ed25519 takes no digest.
  const options =
    alg === 'PS256'
      ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : alg === 'ES256'
        ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
        : privateKey
  return new Promise((resolve, reject) => {
    sign(alg === 'EdDSA' ? null : 'sha256', data, options, (error, signature) =>
      error ? reject(error) : resolve(signature),
    )
  })
}

const STATES: readonly KeyState[] = ['active', 'next', 'retiring']

/** The rotation state of a key option: `active` unless given. */
export function keyState(input: { state?: unknown }, where: string): KeyState {
  const state = input.state ?? 'active'
  if (!(STATES as readonly unknown[]).includes(state)) {
    fail(`${where}.state`, `must be one of ${STATES.join(', ')}`)
  }
  return state as KeyState
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
  signerTimeout = 10_000,
): SigningKey {
  if (typeof input !== 'object' || input === null) {
    fail(where, 'must be a private JWK, { kid, key: KeyObject } or an external signer')
  }
  const state = keyState(input, where)
  if (isExternalSigner(input)) {
    const checked = checkExternalSigner(input, where, allowed, signerTimeout)
    return Object.freeze({ ...checked, state, external: true })
  }
  const { kid, privateKey } = importPrivateKey(stripState(input), where, {
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
    state,
    external: false,
    sign: (data: Uint8Array) => signWithKeyObject(alg, privateKey, data),
    publicJwk: Object.freeze({ ...publicJwk, kid, alg, use: 'sig' }),
  })
}

/** The key option without its rotation `state` (not a JWK member). */
export function stripState<T extends object>(input: T): Omit<T, 'state'> {
  if (!('state' in input)) return input
  const rest: Record<string, unknown> = { ...input }
  delete rest.state
  return rest as Omit<T, 'state'>
}
