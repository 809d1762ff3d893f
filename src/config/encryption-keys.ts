/**
 * The client's own encryption keys (`keys.encryption`): imported and checked once at startup, like
 * the signing keys. They decrypt JARM responses and ID tokens; their public halves are published
 * with `use: enc`. RSA keys do RSA-OAEP (never `RSA1_5`, FAPI 1.0 Advanced §8.6.1), EC and X25519
 * keys do ECDH-ES.
 *
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { failOption as fail } from '../errors.js'
import { importPrivateKey } from './private-key.js'

/** Key management algorithms (RFC 7518 §4) this client decrypts with. */
export type KeyManagementAlgorithm =
  'RSA-OAEP-256' | 'RSA-OAEP' | 'ECDH-ES' | 'ECDH-ES+A128KW' | 'ECDH-ES+A192KW' | 'ECDH-ES+A256KW'

/** An encryption key as given in the options: a private JWK with `kid`, or a `KeyObject`. */
export type EncryptionKeyInput =
  (JWK & { kid: string }) | { kid: string; key: KeyObject; alg?: KeyManagementAlgorithm }

/** A checked encryption key. Internal. */
export interface EncryptionKey {
  readonly kid: string
  /** What the key may decrypt: its JWK `alg` only, when given. */
  readonly algorithms: readonly KeyManagementAlgorithm[]
  readonly privateKey: KeyObject
  /** The public half as a JWK, with `kid`, `use: enc` and `alg` when given, for `jwks()`. */
  readonly publicJwk: Readonly<JWK>
}

const RSA_ALGORITHMS: readonly KeyManagementAlgorithm[] = ['RSA-OAEP-256', 'RSA-OAEP']
const ECDH_ALGORITHMS: readonly KeyManagementAlgorithm[] = [
  'ECDH-ES',
  'ECDH-ES+A128KW',
  'ECDH-ES+A192KW',
  'ECDH-ES+A256KW',
]
const ECDH_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1'])

/** The algorithms a key type can decrypt with. */
function algorithmsFor(key: KeyObject, where: string): readonly KeyManagementAlgorithm[] {
  const details = key.asymmetricKeyDetails
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if ((details?.modulusLength ?? 0) < 2048) fail(where, 'is an RSA key under 2048 bits')
      return RSA_ALGORITHMS
    case 'ec':
      if (!ECDH_CURVES.has(String(details?.namedCurve))) {
        fail(where, `is an EC key on ${String(details?.namedCurve)}; use P-256, P-384 or P-521`)
      }
      return ECDH_ALGORITHMS
    case 'x25519':
      return ECDH_ALGORITHMS
    default:
      return fail(
        where,
        `is a ${String(key.asymmetricKeyType)} key; use RSA (RSA-OAEP), EC or X25519 (ECDH-ES)`,
      )
  }
}

/**
 * Imports and checks one encryption key: private, asymmetric, with a `kid`, and an `alg` (if
 * given) that fits the key and is not `RSA1_5`.
 *
 * @throws {FapiConfigError}
 */
export function importEncryptionKey(input: EncryptionKeyInput, where: string): EncryptionKey {
  const { kid, privateKey } = importPrivateKey(input, where, {
    kid: 'needs a "kid": the server names the key it encrypted to by kid (JARM §4.4 (1))',
    oct: 'must be an asymmetric private JWK or { kid, key: KeyObject }',
  })
  const usable = algorithmsFor(privateKey, where)
  const given: unknown = input.alg
  if (given === 'RSA1_5') fail(where, 'has alg "RSA1_5", which FAPI 1.0 Advanced §8.6.1 forbids')
  if (given !== undefined && !(usable as readonly unknown[]).includes(given)) {
    fail(where, `has alg "${String(given)}"; this key can use ${usable.join(', ')}`)
  }
  if ('use' in input && input.use !== undefined && input.use !== 'enc') {
    fail(where, `has use "${String(input.use)}"; an encryption key has use "enc"`)
  }
  const algorithms = given === undefined ? usable : [given as KeyManagementAlgorithm]
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  return Object.freeze({
    kid,
    algorithms,
    privateKey,
    publicJwk: Object.freeze({
      ...publicJwk,
      kid,
      use: 'enc',
      ...(given === undefined ? {} : { alg: given as string }),
    }),
  })
}
