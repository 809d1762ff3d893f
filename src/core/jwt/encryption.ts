/**
 * JWE (RFC 7516) around signed JWTs: nested, sign-then-encrypt. Decryption of JARM responses
 * (JARM §4.2, §4.4 (1)) and ID tokens (OIDC Core §3.1.3.7 (1)) with the client's key named by
 * `kid`, from an allow-list of algorithms that never includes `RSA1_5` (FAPI 1.0 Advanced §8.6.1)
 * nor the symmetric ones (this client has no secret), and never compressed (`zip`, RFC 8725 §3.6); the decrypted content must then verify as a
 * JWS like any unencrypted one. And encryption of request objects to the server's `use: enc` key.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto'
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose'
import { fapiError, type FapiError } from '../../errors.js'
import type { EncryptionKey, KeyManagementAlgorithm } from '../../config/encryption-keys.js'

/** Content encryption algorithms accepted (RFC 7518 §5). */
export const CONTENT_ENCRYPTION = [
  'A256GCM',
  'A128GCM',
  'A192GCM',
  'A256CBC-HS512',
  'A128CBC-HS256',
  'A192CBC-HS384',
] as const

/** Key management algorithms accepted, most preferred first. */
export const KEY_MANAGEMENT: readonly KeyManagementAlgorithm[] = [
  'RSA-OAEP-256',
  'ECDH-ES+A256KW',
  'ECDH-ES+A128KW',
  'ECDH-ES+A192KW',
  'ECDH-ES',
  'RSA-OAEP',
]

/** Longest JWE looked at. */
const MAX_JWE_LENGTH = 65_536
const COMPACT_JWE =
  /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** Whether a compact serialization is a JWE (five segments) rather than a JWS (three). */
export function isCompactJwe(token: string): boolean {
  // Four dots, counted without splitting (a response or ID token is kilobytes long).
  let dots = 0
  for (let at = token.indexOf('.'); at !== -1; at = token.indexOf('.', at + 1)) {
    if (++dots > 4) return false
  }
  return dots === 4
}

/** What is being decrypted, and how its failures are reported. */
export interface DecryptExpectations {
  /** `JARM` or `ID_TOKEN`: the code prefix. */
  readonly kind: 'JARM' | 'ID_TOKEN'
  readonly label: string
  readonly keys: readonly EncryptionKey[]
}

/** The code of each failure, per kind of token: written out, so every code has a throw site. */
const CODES = {
  JARM: {
    ENC_ALG_NOT_ALLOWED: 'ERR_JARM_ENC_ALG_NOT_ALLOWED',
    DECRYPTION_FAILED: 'ERR_JARM_DECRYPTION_FAILED',
  },
  ID_TOKEN: {
    ENC_ALG_NOT_ALLOWED: 'ERR_ID_TOKEN_ENC_ALG_NOT_ALLOWED',
    DECRYPTION_FAILED: 'ERR_ID_TOKEN_DECRYPTION_FAILED',
  },
} as const

function fail(
  expect: DecryptExpectations,
  failure: 'ENC_ALG_NOT_ALLOWED' | 'DECRYPTION_FAILED',
  message: string,
  cause?: unknown,
): FapiError {
  return fapiError(CODES[expect.kind][failure], `${expect.label}: ${message}`, cause)
}

/**
 * Decrypts a compact JWE and returns its content (to be verified as a JWS by the caller): `alg`
 * and `enc` from the allow-lists, then the client key named by `kid` (or, without `kid`, each key
 * that can use `alg`), then the decryption.
 */
export async function decryptJwe(jwe: string, expect: DecryptExpectations): Promise<string> {
  if (jwe.length > MAX_JWE_LENGTH || !COMPACT_JWE.test(jwe)) {
    throw fail(expect, 'DECRYPTION_FAILED', 'not a compact JWE')
  }
  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(jwe)
  } catch (cause) {
    throw fail(expect, 'DECRYPTION_FAILED', 'the JWE header is not valid JSON', cause)
  }
  const { alg, enc, kid } = header
  if (header.zip !== undefined) {
    throw fail(
      expect,
      'ENC_ALG_NOT_ALLOWED',
      '"zip" (compression before encryption) is refused (RFC 8725 §3.6)',
    )
  }
  if (alg === 'RSA1_5') {
    throw fail(expect, 'ENC_ALG_NOT_ALLOWED', '"alg" RSA1_5 is forbidden (FAPI 1.0 Adv §8.6.1)')
  }
  if (typeof alg !== 'string' || !(KEY_MANAGEMENT as readonly string[]).includes(alg)) {
    throw fail(expect, 'ENC_ALG_NOT_ALLOWED', `"alg" must be one of ${KEY_MANAGEMENT.join(', ')}`)
  }
  if (typeof enc !== 'string' || !(CONTENT_ENCRYPTION as readonly string[]).includes(enc)) {
    throw fail(
      expect,
      'ENC_ALG_NOT_ALLOWED',
      `"enc" must be one of ${CONTENT_ENCRYPTION.join(', ')}`,
    )
  }
  const candidates = expect.keys.filter(
    (key) =>
      (key.algorithms as readonly string[]).includes(alg) && (kid === undefined || key.kid === kid),
  )
  if (candidates.length === 0) {
    throw fail(
      expect,
      'DECRYPTION_FAILED',
      'no encryption key of this client matches "kid" and "alg"',
    )
  }
  let last: unknown
  for (const key of candidates) {
    try {
      const { plaintext } = await compactDecrypt(jwe, key.privateKey, {
        keyManagementAlgorithms: [alg as KeyManagementAlgorithm],
        contentEncryptionAlgorithms: [...CONTENT_ENCRYPTION],
      })
      return Buffer.from(plaintext).toString('utf8')
    } catch (cause) {
      last = cause
    }
  }
  throw fail(expect, 'DECRYPTION_FAILED', 'the JWE does not decrypt', last)
}

/** The server key a request object is encrypted to, and the algorithms to use. */
export interface RecipientKey {
  readonly key: KeyObject
  readonly kid: string | undefined
  readonly alg: KeyManagementAlgorithm
  readonly enc: (typeof CONTENT_ENCRYPTION)[number]
}

/**
 * Encrypts a signed request object (JAR §4: sign, then encrypt; RFC 7519 §5.2 `cty: JWT`) with
 * `kid` in the header, which certification testers require.
 */
export function encryptToServer(jws: string, recipient: RecipientKey): Promise<string> {
  return new CompactEncrypt(Buffer.from(jws))
    .setProtectedHeader({
      alg: recipient.alg,
      enc: recipient.enc,
      cty: 'JWT',
      ...(recipient.kid === undefined ? {} : { kid: recipient.kid }),
    })
    .encrypt(recipient.key)
}
