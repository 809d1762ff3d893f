/**
 * ID token validation (OIDC Core §3.1.3.7), signature always verified, then the claims this client
 * needs: `sub`, `iat`, `nonce`, `azp` and `at_hash`.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { JWTPayload } from 'jose'
import type { JwsAlgorithm } from '../../config/index.js'
import { IdTokenError } from '../../errors.js'
import { decryptJwe, isCompactJwe } from './encryption.js'
import type { Decryption } from './jarm.js'
import { isNumericDate, verifyJws, type ServerJwtContext } from './jws.js'

/** What ID token validation needs: the server context, this login's nonce and access token. */
export interface IdTokenExpectations extends ServerJwtContext {
  readonly nonce: string
  /** A refreshed ID token (OIDC Core §12.2) may omit `nonce`; when present it must still match. */
  readonly nonceOptional?: boolean
  readonly accessToken: string
  /** The `max_age` requested, in seconds (OIDC Core §3.1.2.1): `auth_time` is then required. */
  readonly maxAge?: number
  /** The `acr` values requested as essential (an empty list: any `acr`, but one). */
  readonly acr?: readonly string[]
  /** Seconds an ID token's `iat` may lie in the past (`idTokenMaxAge`). */
  readonly iatMaxAge: number
}

/** §3.1.3.7 (12): an `acr` asked for as essential is present and one of the values asked for. */
function checkAcr(payload: JWTPayload, acr: readonly string[] | undefined): void {
  if (acr === undefined) return
  const granted = payload.acr
  if (typeof granted !== 'string' || (acr.length > 0 && !acr.includes(granted))) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_ACR_NOT_GRANTED',
      typeof granted === 'string'
        ? `ID token: "acr" is not one of the essential values requested (${acr.join(', ')}) (OIDC Core §3.1.3.7 (12))`
        : 'ID token: "acr" is missing but was requested as essential (OIDC Core §3.1.3.7 (12))',
    )
  }
}

/**
 * §3.1.2.1, §3.1.3.7 (13): with `max_age` requested, `auth_time` is present and no older than
 * `max_age` plus the clock tolerance.
 */
function checkAuthTime(payload: JWTPayload, expect: IdTokenExpectations): void {
  if (expect.maxAge === undefined) return
  const authTime = payload.auth_time
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_AUTH_TIME_MISSING',
      'ID token: "auth_time" is missing but max_age was requested (OIDC Core §3.1.2.1)',
    )
  }
  const elapsed = expect.now / 1000 - authTime
  if (elapsed > expect.maxAge + expect.clockTolerance) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_AUTH_TIME_TOO_OLD',
      `ID token: the user authenticated longer ago than max_age (${expect.maxAge} s) allows (OIDC Core §3.1.3.7 (13))`,
    )
  }
}

/** The signed ID token inside an encrypted one (OIDC Core §3.1.3.7 (1)), or the token itself. */
export async function signedIdToken(idToken: string, decryption: Decryption): Promise<string> {
  if (!isCompactJwe(idToken)) {
    if (decryption.required) {
      throw new IdTokenError(
        'ERR_ID_TOKEN_NOT_ENCRYPTED',
        'ID token: not encrypted, but encryption.idToken is on (OIDC Core §3.1.3.7 (1))',
      )
    }
    return idToken
  }
  if (decryption.keys.length === 0) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_ENCRYPTED',
      'ID token: encrypted, but this client has no encryption key (keys.encryption)',
    )
  }
  return decryptJwe(idToken, {
    kind: 'ID_TOKEN',
    label: 'ID token',
    keys: decryption.keys,
  })
}

/** The claims of a validated ID token. */
export type IdTokenClaims = JWTPayload & {
  readonly sub: string
  readonly iat: number
  readonly exp: number
}

/** Left half of the hash of the access token, base64url (OIDC Core §3.1.3.8, §3.2.2.9). */
export function leftHalfHash(value: string, alg: JwsAlgorithm): string {
  // SHA-256 for PS256 and ES256; Ed25519 signatures use SHA-512 (OIDC Core errata for EdDSA).
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(value, 'ascii')
    .digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

/**
 * Validates a signed ID token from the token endpoint (after {@link signedIdToken} for an
 * encrypted one); the signature is never skipped.
 */
export async function validateIdToken(
  idToken: string,
  expect: IdTokenExpectations,
): Promise<IdTokenClaims> {
  const { payload, alg } = await verifyJws(idToken, {
    kind: 'ID_TOKEN',
    ...expect,
    // OIDC Core §2: iss, sub, aud, exp and iat are required.
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
  })
  // §3.1.3.7 (10): an ID token issued too long ago is refused (the range is the client's).
  if (
    typeof payload.iat === 'number' &&
    payload.iat < expect.now / 1000 - expect.iatMaxAge - expect.clockTolerance
  ) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_IAT_TOO_OLD',
      `ID token: "iat" is more than idTokenMaxAge (${expect.iatMaxAge} s) in the past (OIDC Core §3.1.3.7 (10))`,
    )
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    throw new IdTokenError(
      'ERR_ID_TOKEN_CLAIMS_INVALID',
      'ID token: "sub" is not a non-empty string',
    )
  }
  // OIDC Core §2, RFC 7519 §2: auth_time, when present, is a NumericDate within bounds.
  if (payload.auth_time !== undefined && !isNumericDate(payload.auth_time)) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_CLAIMS_INVALID',
      'ID token: "auth_time" is not a NumericDate from 1970 to 9999 (OIDC Core §2)',
    )
  }
  // §3.1.3.7 (4)–(5): azp, when present, is this client.
  if (payload.azp !== undefined && payload.azp !== expect.clientId) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_AZP_MISMATCH',
      `ID token: "azp" is not this client "${expect.clientId}"`,
    )
  }
  // §3.1.3.7 (11): the nonce sent is the nonce returned.
  const nonceAbsent = expect.nonceOptional === true && payload.nonce === undefined
  if (!nonceAbsent && payload.nonce !== expect.nonce) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_NONCE_MISMATCH',
      'ID token: "nonce" does not match the nonce of this login',
    )
  }
  checkAcr(payload, expect.acr)
  checkAuthTime(payload, expect)
  if (payload.at_hash !== undefined) {
    if (payload.at_hash !== leftHalfHash(expect.accessToken, alg)) {
      throw new IdTokenError(
        'ERR_ID_TOKEN_AT_HASH_MISMATCH',
        'ID token: "at_hash" does not match the access token',
      )
    }
  }
  return payload as IdTokenClaims
}

/** `aud` as a sorted list, to compare a string with a one-element array. */
function audiences(aud: unknown): string {
  const list = Array.isArray(aud) ? aud.map(String) : [String(aud)]
  return JSON.stringify([...list].sort())
}

/**
 * Validates an ID token from a refresh (OIDC Core §12.2): fully, as at login (signature, `alg`,
 * `iss`, `aud`, `exp`, `iat`, `azp`, `at_hash`), with `nonce` optional (if present, the original's),
 * and then against the original ID token's claims: the same `iss`, `sub` and `aud`, and the same
 * `auth_time` when both have one.
 */
export async function validateRefreshedIdToken(
  idToken: string,
  expect: Omit<IdTokenExpectations, 'nonce' | 'nonceOptional'>,
  original: Readonly<Record<string, unknown>>,
): Promise<IdTokenClaims> {
  const nonce = typeof original.nonce === 'string' ? original.nonce : ''
  const claims = await validateIdToken(idToken, { ...expect, nonce, nonceOptional: true })
  if (claims.iss !== original.iss) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_ISS_MISMATCH',
      'refreshed ID token: "iss" differs from the original ID token (OIDC Core §12.2)',
    )
  }
  if (claims.sub !== original.sub) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_SUB_MISMATCH',
      'refreshed ID token: "sub" differs from the original ID token (OIDC Core §12.2)',
    )
  }
  if (audiences(claims.aud) !== audiences(original.aud)) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_AUD_MISMATCH',
      'refreshed ID token: "aud" differs from the original ID token (OIDC Core §12.2)',
    )
  }
  if (
    claims.auth_time !== undefined &&
    original.auth_time !== undefined &&
    claims.auth_time !== original.auth_time
  ) {
    throw new IdTokenError(
      'ERR_ID_TOKEN_CLAIMS_INVALID',
      'refreshed ID token: "auth_time" differs from the original authentication (OIDC Core §12.2)',
    )
  }
  return claims
}
