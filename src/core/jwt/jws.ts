/**
 * Verification of a JWS-signed JWT from the authorization server, as a pipeline of named checks
 * in the order JARM §4.4 and OIDC Core §3.1.3.7 give them, shared by JARM responses and ID tokens.
 * Each failure carries the caller's code prefix, so a JARM `aud` failure is `ERR_JARM_AUD_MISMATCH`
 * and an ID token's is `ERR_ID_TOKEN_AUD_MISMATCH`.
 *
 * @module
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose'
import type { JwsAlgorithm } from '../../config/index.js'
import { fapiError, type FapiError, type FapiErrorCode } from '../../errors.js'
import type { RemoteJwks } from '../server/jwks.js'

/** The failures a verification can end in, by code suffix. */
type Failure =
  | 'MALFORMED'
  | 'ALG_NOT_ALLOWED'
  | 'ISS_MISMATCH'
  | 'KEY_NOT_FOUND'
  | 'SIGNATURE_INVALID'
  | 'AUD_MISMATCH'
  | 'EXPIRED'
  | 'IAT_IN_FUTURE'
  | 'CLAIMS_INVALID'

/** What every JWT from the authorization server is checked against. */
export interface ServerJwtContext {
  readonly issuer: string
  readonly clientId: string
  readonly algorithms: readonly JwsAlgorithm[]
  readonly clockTolerance: number
  /** Milliseconds since the epoch. */
  readonly now: number
  readonly jwks: RemoteJwks
}

/** What is being verified, and how its failures are reported. */
export interface JwsExpectations extends ServerJwtContext {
  /** `JARM` or `ID_TOKEN`: the code prefix. */
  readonly kind: 'JARM' | 'ID_TOKEN'
  readonly requiredClaims: readonly string[]
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const LABEL = { JARM: 'JARM response', ID_TOKEN: 'ID token' } as const

/** The code of each failure, per kind of token: written out, so every code has a throw site. */
const CODES = {
  JARM: {
    MALFORMED: 'ERR_JARM_MALFORMED',
    ALG_NOT_ALLOWED: 'ERR_JARM_ALG_NOT_ALLOWED',
    ISS_MISMATCH: 'ERR_JARM_ISS_MISMATCH',
    KEY_NOT_FOUND: 'ERR_JARM_KEY_NOT_FOUND',
    SIGNATURE_INVALID: 'ERR_JARM_SIGNATURE_INVALID',
    AUD_MISMATCH: 'ERR_JARM_AUD_MISMATCH',
    EXPIRED: 'ERR_JARM_EXPIRED',
    IAT_IN_FUTURE: 'ERR_JARM_IAT_IN_FUTURE',
    CLAIMS_INVALID: 'ERR_JARM_CLAIMS_INVALID',
  },
  ID_TOKEN: {
    MALFORMED: 'ERR_ID_TOKEN_MALFORMED',
    ALG_NOT_ALLOWED: 'ERR_ID_TOKEN_ALG_NOT_ALLOWED',
    ISS_MISMATCH: 'ERR_ID_TOKEN_ISS_MISMATCH',
    KEY_NOT_FOUND: 'ERR_ID_TOKEN_KEY_NOT_FOUND',
    SIGNATURE_INVALID: 'ERR_ID_TOKEN_SIGNATURE_INVALID',
    AUD_MISMATCH: 'ERR_ID_TOKEN_AUD_MISMATCH',
    EXPIRED: 'ERR_ID_TOKEN_EXPIRED',
    IAT_IN_FUTURE: 'ERR_ID_TOKEN_IAT_IN_FUTURE',
    CLAIMS_INVALID: 'ERR_ID_TOKEN_CLAIMS_INVALID',
  },
} as const satisfies Record<JwsExpectations['kind'], Record<Failure, FapiErrorCode>>

function fail(
  expect: JwsExpectations,
  failure: Failure,
  message: string,
  cause?: unknown,
): FapiError {
  return fapiError(CODES[expect.kind][failure], `${LABEL[expect.kind]}: ${message}`, cause)
}

function isAllowed(alg: unknown, allowed: readonly JwsAlgorithm[]): alg is JwsAlgorithm {
  return typeof alg === 'string' && (allowed as readonly string[]).includes(alg)
}

/** Maps jose's verification errors onto our codes; anything else is a signature failure. */
function joseFailure(expect: JwsExpectations, cause: unknown): FapiError {
  if (cause instanceof errors.JWTExpired && cause.claim === 'exp') {
    return fail(expect, 'EXPIRED', '"exp" is in the past', cause)
  }
  if (cause instanceof errors.JWTClaimValidationFailed || cause instanceof errors.JWTExpired) {
    if (cause.claim === 'aud' && cause.reason === 'check_failed') {
      return fail(expect, 'AUD_MISMATCH', `"aud" is not this client "${expect.clientId}"`, cause)
    }
    if (cause.claim === 'iss' && cause.reason === 'check_failed') {
      return fail(expect, 'ISS_MISMATCH', `"iss" is not the issuer "${expect.issuer}"`, cause)
    }
    return fail(
      expect,
      'CLAIMS_INVALID',
      `claim "${cause.claim}" is ${cause.reason === 'missing' ? 'missing' : 'invalid'}`,
      cause,
    )
  }
  if (cause instanceof errors.JOSEAlgNotAllowed)
    return fail(expect, 'ALG_NOT_ALLOWED', 'algorithm not allowed', cause)
  if (cause instanceof errors.JWSSignatureVerificationFailed) {
    return fail(expect, 'SIGNATURE_INVALID', 'the signature does not verify', cause)
  }
  if (cause instanceof errors.JOSEError)
    return fail(expect, 'MALFORMED', 'not a valid signed JWT', cause)
  return fail(expect, 'SIGNATURE_INVALID', 'the signature could not be verified', cause)
}

/**
 * Verifies a compact JWS JWT: shape, `alg` in the allow-list (never `none`, RFC 8725 §3.1), `iss`
 * before any key lookup (JARM security considerations), the key by kid and key shape, the
 * signature, `iss`, `aud` (exactly this client, no other audiences), `exp`, `iat` not in the future,
 * and the required claims. Returns the verified payload and its algorithm.
 */
export async function verifyJws(
  token: string,
  expect: JwsExpectations,
): Promise<{ payload: JWTPayload; alg: JwsAlgorithm }> {
  if (!COMPACT_JWS.test(token)) throw fail(expect, 'MALFORMED', 'not a compact JWS')
  let header: ReturnType<typeof decodeProtectedHeader>
  let unverified: JWTPayload
  try {
    header = decodeProtectedHeader(token)
    unverified = decodeJwt(token)
  } catch (cause) {
    throw fail(expect, 'MALFORMED', 'the header or payload is not valid JSON', cause)
  }
  const alg = header.alg
  if (!isAllowed(alg, expect.algorithms)) {
    throw fail(expect, 'ALG_NOT_ALLOWED', `"alg" must be one of ${expect.algorithms.join(', ')}`)
  }
  if (unverified.iss !== expect.issuer) {
    throw fail(expect, 'ISS_MISMATCH', `"iss" is not the issuer "${expect.issuer}"`)
  }
  const key = await expect.jwks.select({ alg, kid: header.kid })
  if (key === 'not-found' || key === 'ambiguous') {
    throw fail(
      expect,
      'KEY_NOT_FOUND',
      key === 'not-found'
        ? 'no key of the server matches the header "kid" and "alg"'
        : 'several keys of the server match the header "kid" and "alg"',
    )
  }
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, key, {
      algorithms: [...expect.algorithms],
      issuer: expect.issuer,
      audience: expect.clientId,
      requiredClaims: [...expect.requiredClaims],
      clockTolerance: expect.clockTolerance,
      currentDate: new Date(expect.now),
    }))
  } catch (cause) {
    throw joseFailure(expect, cause)
  }
  if (Array.isArray(payload.aud) && payload.aud.some((aud) => aud !== expect.clientId)) {
    throw fail(
      expect,
      'AUD_MISMATCH',
      `"aud" has audiences other than this client "${expect.clientId}"`,
    )
  }
  if (typeof payload.iat === 'number' && payload.iat > expect.now / 1000 + expect.clockTolerance) {
    throw fail(expect, 'IAT_IN_FUTURE', '"iat" is in the future')
  }
  return { payload, alg }
}
