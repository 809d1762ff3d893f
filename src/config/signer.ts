/**
 * External signers: keys that never enter the process (an HSM through PKCS#11, a cloud KMS, a
 * Vault transit engine). The client hands the signer the JWS signing input and gets the signature
 * bytes back; the signer's shape is checked at startup, and every answer at request time (in time,
 * of the right length, verifying against the published public key: the first signature, then one
 * a minute).
 *
 * @module
 */
import { createPublicKey, verify, constants, type KeyObject, type JsonWebKey } from 'node:crypto'
import type { JWK } from 'jose'
import { fapiError, failOption as fail } from '../errors.js'

/** The algorithms an external signer may sign with. */
export type ExternalSignerAlgorithm = 'PS256' | 'ES256' | 'EdDSA'

/**
 * A signing key held outside the process. `sign` receives the JWS signing input (ASCII of
 * `base64url(header).base64url(payload)`, RFC 7515 §5.1) and returns the JWS signature octets:
 * RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-octet salt for PS256 (RFC 7518 §3.5); `R || S`,
 * 64 octets, for ES256 (RFC 7518 §3.4: convert a DER signature with `derToJose`); the 64-octet
 * Ed25519 signature for EdDSA (RFC 8037).
 *
 * @example
 * ```ts
 * const signer: ExternalSigner = {
 *   kid: 'hsm-2026-12', alg: 'ES256', publicJwk,
 *   sign: async (data) => derToJose(await kmsSignSha256(data), 'ES256'),
 * }
 * fapiClient({ ..., keys: { signing: [signer] } })
 * ```
 * @see RFC 7515 §5.1; RFC 7518 §3.4, §3.5; RFC 8037 §3.1
 */
export interface ExternalSigner {
  /** The key id put in every JWS header this signer signs, and published with `publicJwk`. */
  readonly kid: string
  readonly alg: ExternalSignerAlgorithm
  /** The public half, without private members; published by `jwks()`. */
  readonly publicJwk: JWK
  /** Signs the JWS signing input; resolves with the signature octets. */
  sign(data: Uint8Array): Promise<Uint8Array>
  /** Milliseconds a signature may take. Default: the client's `httpTimeout`. */
  readonly timeout?: number
}

/** Members a public JWK must not have (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** Whether an option is an external signer rather than a key. */
export function isExternalSigner(value: unknown): value is ExternalSigner {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { sign?: unknown }).sign === 'function'
  )
}

/** What the public key must be for each algorithm. */
function checkKeyFits(key: KeyObject, alg: ExternalSignerAlgorithm, where: string): void {
  const type = key.asymmetricKeyType
  const details = key.asymmetricKeyDetails
  if (alg === 'PS256') {
    if (type !== 'rsa' && type !== 'rsa-pss')
      fail(where, 'has alg "PS256" but an RSA publicJwk is expected')
    if ((details?.modulusLength ?? 0) < 2048) fail(where, 'is an RSA key under 2048 bits')
  } else if (alg === 'ES256') {
    if (type !== 'ec' || details?.namedCurve !== 'prime256v1') {
      fail(where, 'has alg "ES256" but a P-256 EC publicJwk is expected')
    }
  } else if (type !== 'ed25519') {
    fail(where, 'has alg "EdDSA" but an Ed25519 OKP publicJwk is expected')
  }
}

/** The signature length each algorithm produces, for this key. */
function signatureLength(key: KeyObject, alg: ExternalSignerAlgorithm): number {
  if (alg === 'PS256') return Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)
  return 64
}

/** A checked external signer: its public key and its JWK as published. Internal. */
export interface CheckedSigner {
  readonly kid: string
  readonly alg: ExternalSignerAlgorithm
  readonly publicJwk: Readonly<JWK>
  /** Signs with the signer, bounded in time, and checks what comes back. */
  readonly sign: (data: Uint8Array) => Promise<Uint8Array>
}

/**
 * Checks an external signer at startup: `kid`, an `alg` the profile allows, a `publicJwk` that is
 * public, fits `alg` (RSA ≥ 2048 bits, P-256, Ed25519) and does not contradict `kid` or `alg`, a
 * `sign` function, a positive `timeout` if given.
 *
 * @throws {FapiConfigError}
 */
export function checkExternalSigner(
  input: ExternalSigner,
  where: string,
  allowed: readonly string[],
  defaultTimeout: number,
): CheckedSigner {
  const { kid, alg, publicJwk, timeout } = input as unknown as Partial<Record<string, unknown>>
  if (typeof kid !== 'string' || kid === '') {
    fail(where, 'needs a "kid": the authorization server selects the verification key by kid')
  }
  if (alg !== 'PS256' && alg !== 'ES256' && alg !== 'EdDSA') {
    fail(where, 'needs "alg": "PS256", "ES256" or "EdDSA" (an external signer names its algorithm)')
  }
  if (!allowed.includes(alg)) {
    fail(
      where,
      `signs with ${alg}, which the profile does not allow (allowed: ${allowed.join(', ')})`,
    )
  }
  if (typeof publicJwk !== 'object' || publicJwk === null || Array.isArray(publicJwk)) {
    fail(where, 'needs "publicJwk", the public half of the key as a JWK')
  }
  const jwk = publicJwk as Record<string, unknown>
  const secret = PRIVATE_MEMBERS.filter((name) => name in jwk)
  if (secret.length > 0) {
    fail(
      where,
      `has private members (${secret.join(', ')}) in "publicJwk"; publish the public half only`,
    )
  }
  if (jwk.kid !== undefined && jwk.kid !== kid)
    fail(where, `has a publicJwk whose "kid" is not "${kid}"`)
  if (jwk.alg !== undefined && jwk.alg !== alg)
    fail(where, `has a publicJwk whose "alg" is not "${alg}"`)
  if (jwk.use !== undefined && jwk.use !== 'sig')
    fail(where, 'has a publicJwk whose "use" is not "sig"')
  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
  } catch (cause) {
    fail(where, `has a publicJwk that is not a usable public key (${(cause as Error).message})`)
  }
  checkKeyFits(key, alg, where)
  const limit = timeout ?? defaultTimeout
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit <= 0) {
    fail(`${where}.timeout`, 'must be a positive integer (milliseconds)')
  }
  const exported = key.export({ format: 'jwk' }) as JWK
  const signer = input
  const bounds: Bounds = {
    kid,
    alg,
    key,
    expectedLength: signatureLength(key, alg),
    limit,
    verifiedAt: Number.NEGATIVE_INFINITY,
  }
  return Object.freeze({
    kid,
    alg,
    publicJwk: Object.freeze({ ...exported, kid, alg, use: 'sig' }),
    sign: (data: Uint8Array) => signBounded(signer, bounds, data),
  })
}

/**
 * How often a signature is verified against `publicJwk`: the first one, then one a minute. A
 * signer's mistakes are systematic (a DER answer, another key, another PSS salt, a KMS alias moved
 * to a new key version) and are caught within a minute; verifying every signature would cost more
 * than the signer path is allowed to (an ES256 verification is about twice a signature).
 */
const VERIFY_INTERVAL_MS = 60_000

interface Bounds {
  readonly kid: string
  readonly alg: ExternalSignerAlgorithm
  readonly key: KeyObject
  readonly expectedLength: number
  readonly limit: number
  /** When a signature last verified (`performance.now()`). */
  verifiedAt: number
}

/** Calls the signer, at most `limit` ms; a late or failed answer never becomes an unhandled rejection. */
async function signBounded(
  signer: ExternalSigner,
  bounds: Bounds,
  data: Uint8Array,
): Promise<Uint8Array> {
  const { kid, limit } = bounds
  let timer: NodeJS.Timeout | undefined
  const answer = Promise.resolve()
    .then(() => signer.sign(Uint8Array.from(data)))
    .then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    )
  const late = new Promise<'late'>((resolve) => {
    // Not unref'd: a job with nothing else to wait for (a nightly refresh) must get its timeout
    // error, not exit with the login half done. Cleared as soon as the signer answers.
    timer = setTimeout(resolve, limit, 'late')
  })
  const outcome = await Promise.race([answer, late]).finally(() => clearTimeout(timer))
  if (outcome === 'late') {
    throw fapiError(
      'ERR_SIGNER_TIMEOUT',
      `the signer of key "${kid}" did not answer within ${limit} ms`,
    )
  }
  if ('error' in outcome) {
    const name = outcome.error instanceof Error ? outcome.error.name : typeof outcome.error
    throw fapiError('ERR_SIGNER_FAILED', `the signer of key "${kid}" failed (${name})`)
  }
  return checkSignature(outcome.value, bounds, data)
}

/** The signer's answer: octets of the algorithm's length that verify against the public key. */
async function checkSignature(
  value: unknown,
  bounds: Bounds,
  data: Uint8Array,
): Promise<Uint8Array> {
  const { kid, alg, key, expectedLength } = bounds
  if (!(value instanceof Uint8Array)) {
    throw fapiError(
      'ERR_SIGNER_SIGNATURE_INVALID',
      `the signer of key "${kid}" did not return bytes`,
    )
  }
  if (value.length !== expectedLength) {
    throw fapiError(
      'ERR_SIGNER_SIGNATURE_INVALID',
      `the signer of key "${kid}" returned ${value.length} octets where ${alg} has ${expectedLength}${alg === 'ES256' && value.length > 64 && value[0] === 0x30 ? ' (a DER signature? convert it with derToJose)' : ''}`,
    )
  }
  const now = performance.now()
  if (now - bounds.verifiedAt < VERIFY_INTERVAL_MS) return value
  const options =
    alg === 'PS256'
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : alg === 'ES256'
        ? { key, dsaEncoding: 'ieee-p1363' as const }
        : key
  const valid = await new Promise<boolean>((resolve) => {
    verify(alg === 'EdDSA' ? null : 'sha256', data, options, value, (error, result) =>
      resolve(error === null && result),
    )
  })
  if (!valid) {
    throw fapiError(
      'ERR_SIGNER_SIGNATURE_INVALID',
      `the signature from the signer of key "${kid}" does not verify against its publicJwk`,
    )
  }
  bounds.verifiedAt = now
  return value
}
