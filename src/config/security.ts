/**
 * The client's keys, TLS material and encryption settings, checked at startup against what the
 * profile choices need: a signing key for request objects and `private_key_jwt`, a client
 * certificate for mTLS authentication or binding, decryption keys for encrypted responses. Part of
 * the configuration (`index.ts`).
 *
 * @module
 */
import { importEncryptionKey, type EncryptionKey } from './encryption-keys.js'
import { importSigningKey, type SigningKey } from './keys.js'
import { failOption as fail } from '../errors.js'
import { DEFAULTS } from './defaults.js'
import type { FapiClientOptions } from './options.js'
import { bindingRule, type ProfileChoices } from './profiles.js'
import { resolveTls, type ResolvedTls } from './tls.js'
import { KeyRing } from './key-ring.js'
import { ClientSecret } from './client-secret.js'

/** The resolved keys and transport settings. */
export interface ResolvedSecurity {
  /** The current keys (they change on `updateKeys`): read them from here at use, never copy. */
  readonly keyRing: KeyRing
  readonly signingKeys: readonly SigningKey[]
  readonly encryptionKeys: readonly EncryptionKey[]
  readonly encryption: {
    readonly requestObject: boolean
    readonly idToken: boolean
    readonly authorizationResponse: boolean
  }
  readonly tls: ResolvedTls
  /** The client secret, for the `client_secret_*` methods only. */
  readonly clientSecret: ClientSecret | undefined
}

/** RFC 7518 §3.2: an HS256 key of at least 256 bits. */
const MIN_JWT_SECRET_LENGTH = 32

/** The client secret: required by the `client_secret_*` methods, refused by the others. */
function resolveClientSecret(
  options: FapiClientOptions,
  choices: ProfileChoices,
): ClientSecret | undefined {
  const method = choices.clientAuthMethod
  const value: unknown = options.clientSecret
  // Never echo the value in a message: it is (or may be) a secret.
  if (!method.startsWith('client_secret_')) {
    if (value !== undefined) {
      fail(
        'clientSecret',
        `is only used by clientAuthMethod "client_secret_basic", "client_secret_post" or "client_secret_jwt" (profile "oidc"); clientAuthMethod is "${method}". Remove it`,
      )
    }
    return undefined
  }
  if (typeof value !== 'string' || value === '') {
    fail('clientSecret', `must be the non-empty client secret: clientAuthMethod is "${method}"`)
  }
  if (method === 'client_secret_jwt' && value.length < MIN_JWT_SECRET_LENGTH) {
    fail(
      'clientSecret',
      `must be at least ${MIN_JWT_SECRET_LENGTH} characters for "client_secret_jwt": it is the HS256 key, which needs at least 256 bits (RFC 7518 §3.2)`,
    )
  }
  return new ClientSecret(value)
}

function flag(option: string, value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') fail(option, 'must be a boolean')
  return value
}

function importKeys(
  given: FapiClientOptions['keys'] | undefined,
  choices: ProfileChoices,
  signerTimeout: number,
): { signingKeys: SigningKey[]; encryptionKeys: EncryptionKey[] } {
  const keys: { signing?: unknown; encryption?: unknown } | undefined = given
  const needsSigning = choices.requestObject || choices.clientAuthMethod === 'private_key_jwt'
  const signing = keys?.signing
  if (
    (needsSigning || signing !== undefined) &&
    (!Array.isArray(signing) || signing.length === 0)
  ) {
    fail('keys.signing', 'must be a non-empty array of private JWKs (with kid) or { kid, key }')
  }
  const signingKeys = (given?.signing ?? []).map((input, index) =>
    importSigningKey(input, `keys.signing[${index}]`, choices.algorithms, signerTimeout),
  )
  // Key rotation: something must sign; `next` and `retiring` keys are published only.
  if (needsSigning && !signingKeys.some((key) => key.state === 'active')) {
    fail('keys.signing', 'has no key in state "active" (the default): one must sign')
  }
  const encryption = keys?.encryption
  if (encryption !== undefined && !Array.isArray(encryption)) {
    fail('keys.encryption', 'must be an array of private JWKs (with kid) or { kid, key }')
  }
  const encryptionKeys = (given?.encryption ?? []).map((input, index) =>
    importEncryptionKey(input, `keys.encryption[${index}]`),
  )
  // FAPI 1.0 Advanced §8.9: no duplicate kids in the client's JWKS.
  const kids = new Set<string>()
  for (const [list, key] of [
    ...signingKeys.map((key) => ['keys.signing', key] as const),
    ...encryptionKeys.map((key) => ['keys.encryption', key] as const),
  ]) {
    if (kids.has(key.kid)) fail(list, `has the kid "${key.kid}" twice; kids must be unique`)
    kids.add(key.kid)
  }
  return { signingKeys, encryptionKeys }
}

/**
 * Imports the keys, checks `tls` and `encryption` against the profile choices.
 *
 * @throws {FapiConfigError}
 */
export function resolveSecurity(
  options: FapiClientOptions,
  choices: ProfileChoices,
  signerTimeout: number,
): ResolvedSecurity {
  // Checked below for the startup keys (after the other options), and by the importer on updates.
  let needsDecryption = false
  const keyRing = new KeyRing(options.keys, (keys) => {
    const imported = importKeys(keys, choices, signerTimeout)
    if (needsDecryption && imported.encryptionKeys.length === 0) {
      fail(
        'keys.encryption',
        'must hold a private key to decrypt with: the server encrypts to this client (encryption.idToken or encryption.authorizationResponse)',
      )
    }
    return imported
  })
  const { signingKeys, encryptionKeys } = keyRing

  const tls = resolveTls(options.tls)
  if (choices.senderConstraint === 'mtls' && !tls.clientCertificate) {
    fail(
      'tls',
      `needs "cert" and "key": tokens are bound to the client certificate (senderConstraint "mtls", ${bindingRule(choices.profile)}${options.senderConstraint === undefined ? `, the default of profile "${choices.profile}"` : ''}). Give the certificate, or set senderConstraint: "none" to opt out explicitly`,
    )
  }
  if (
    (choices.clientAuthMethod === 'tls_client_auth' ||
      choices.clientAuthMethod === 'self_signed_tls_client_auth') &&
    !tls.clientCertificate
  ) {
    fail(
      'tls',
      `needs "cert" and "key": clientAuthMethod "${choices.clientAuthMethod}" authenticates with the client certificate (RFC 8705 §2)`,
    )
  }

  const given: unknown = options.encryption ?? DEFAULTS.encryption
  if (typeof given !== 'object' || given === null) fail('encryption', 'must be an object')
  const { requestObject, idToken, authorizationResponse } = given as Record<string, unknown>
  const encryption = Object.freeze({
    requestObject: flag('encryption.requestObject', requestObject),
    idToken: flag('encryption.idToken', idToken),
    authorizationResponse: flag('encryption.authorizationResponse', authorizationResponse),
  })
  if (encryption.requestObject && !choices.requestObject) {
    fail('encryption.requestObject', 'needs requestObject: true (a request object to encrypt)')
  }
  if (encryption.authorizationResponse && !choices.jarm) {
    fail('encryption.authorizationResponse', 'needs a JARM responseMode (jwt, query.jwt, …)')
  }
  needsDecryption = encryption.idToken || encryption.authorizationResponse
  if (needsDecryption && encryptionKeys.length === 0) {
    fail(
      'keys.encryption',
      'must hold a private key to decrypt with: the server encrypts to this client (encryption.idToken or encryption.authorizationResponse)',
    )
  }

  return {
    keyRing,
    signingKeys,
    encryptionKeys,
    encryption,
    tls,
    clientSecret: resolveClientSecret(options, choices),
  }
}
