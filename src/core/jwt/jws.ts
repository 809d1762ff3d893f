/**
 * Verification of a JWS-signed JWT from the authorization server, as a pipeline of named checks
 * in the order JARM §4.4 and OIDC Core §3.1.3.7 give them, shared by JARM responses and ID tokens.
 * Each failure carries the caller's code prefix, so a JARM `aud` failure is `ERR_JARM_AUD_MISMATCH`
 * and an ID token's is `ERR_ID_TOKEN_AUD_MISMATCH`.
 *
 * @module
 */
import type { JWTPayload } from 'jose'
import type { JwsAlgorithm } from '../../config/index.js'
import { fapiError, printable, type FapiError, type FapiErrorCode } from '../../errors.js'
import type { RemoteJwks } from '../server/jwks.js'
import {
  parseCompactJws,
  verifySignature,
  type ParseFailure,
  type SignatureFailure,
} from './verify.js'

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
  /** The server's keys (only their selection by header is used). */
  readonly jwks: Pick<RemoteJwks, 'select'>
}

/** What is being verified, and how its failures are reported. */
export interface JwsExpectations extends ServerJwtContext {
  /** `JARM`, `ID_TOKEN` or `LOGOUT_TOKEN`: the code prefix. */
  readonly kind: 'JARM' | 'ID_TOKEN' | 'LOGOUT_TOKEN'
  readonly requiredClaims: readonly string[]
}

const LABEL = {
  JARM: 'JARM response',
  ID_TOKEN: 'ID token',
  LOGOUT_TOKEN: 'logout token',
} as const

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
  LOGOUT_TOKEN: {
    MALFORMED: 'ERR_LOGOUT_TOKEN_MALFORMED',
    ALG_NOT_ALLOWED: 'ERR_LOGOUT_TOKEN_ALG_NOT_ALLOWED',
    ISS_MISMATCH: 'ERR_LOGOUT_TOKEN_ISS_MISMATCH',
    KEY_NOT_FOUND: 'ERR_LOGOUT_TOKEN_KEY_NOT_FOUND',
    SIGNATURE_INVALID: 'ERR_LOGOUT_TOKEN_SIGNATURE_INVALID',
    AUD_MISMATCH: 'ERR_LOGOUT_TOKEN_AUD_MISMATCH',
    EXPIRED: 'ERR_LOGOUT_TOKEN_EXPIRED',
    IAT_IN_FUTURE: 'ERR_LOGOUT_TOKEN_IAT_IN_FUTURE',
    CLAIMS_INVALID: 'ERR_LOGOUT_TOKEN_CLAIMS_INVALID',
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

const MALFORMED: Readonly<Record<ParseFailure, string>> = {
  shape: 'not a compact JWS',
  encoding: 'a segment is not valid base64url',
  header: 'the header is not a JSON object',
  payload: 'the payload is not a JSON object',
}

const UNVERIFIED: Readonly<Record<SignatureFailure, string>> = {
  'key-unfit': 'the server key does not fit "alg"',
  length: 'the signature has the wrong length for "alg"',
  invalid: 'the signature does not verify',
}

/** Header parameters this verifier understands when listed in `crit` (RFC 7515 §4.1.11). */
const UNDERSTOOD_CRIT: ReadonlySet<string> = new Set(['b64'])

/**
 * RFC 7515 §4.1.11: `crit`, when present, is a non-empty array of distinct names of parameters
 * present in the header, each one this verifier understands; RFC 7797 §3: `b64`, when critical, is
 * a boolean, and a JWT never has an unencoded payload (RFC 7797 §7).
 */
function critical(header: Readonly<Record<string, unknown>>): string | undefined {
  const { crit } = header
  if (crit === undefined) return undefined
  if (!Array.isArray(crit) || crit.length === 0) return '"crit" is not an array of names'
  const listed: readonly unknown[] = crit
  const names = new Set<string>()
  for (const name of listed) {
    if (typeof name !== 'string' || name === '') return '"crit" is not an array of names'
    if (names.has(name)) return '"crit" lists a name twice'
    names.add(name)
  }
  for (const name of names) {
    if (!UNDERSTOOD_CRIT.has(name)) {
      return `"crit" lists "${printable(name, 40)}", which is not understood`
    }
    if (!Object.hasOwn(header, name)) return `"crit" lists "${name}", which is absent`
  }
  if (names.has('b64')) {
    if (typeof header.b64 !== 'boolean') return '"b64" is not a boolean'
    if (!header.b64) return 'an unencoded payload ("b64": false) is not a JWT'
  }
  return undefined
}

/** `aud` names this client (a string, or an array with it; RFC 7519 §4.1.3). */
function namesClient(aud: unknown, clientId: string): boolean {
  return typeof aud === 'string' ? aud === clientId : Array.isArray(aud) && aud.includes(clientId)
}

/** The last second a NumericDate may name: 9999-12-31T23:59:59Z. */
export const MAX_NUMERIC_DATE = 253_402_300_799

/**
 * Whether a value is a NumericDate (RFC 7519 §2) within sane bounds: a finite number of seconds
 * from 1970 to the year 9999. `1e400` parses to Infinity and would pass every time comparison.
 */
export function isNumericDate(value: unknown): value is number {
  return (
    typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_NUMERIC_DATE
  )
}

/** A NumericDate claim, if present, is a number within bounds (RFC 7519 §2). */
function numericDate(expect: JwsExpectations, payload: JWTPayload, claim: 'iat' | 'nbf' | 'exp') {
  const value: unknown = payload[claim]
  if (value !== undefined && !isNumericDate(value)) {
    throw fail(
      expect,
      'CLAIMS_INVALID',
      `claim "${claim}" is invalid: not a NumericDate from 1970 to 9999`,
    )
  }
  return value
}

/**
 * The claims, in the order RFC 7519 §4.1 and the callers need them: the required claims present,
 * `aud` naming this client, `iat`, `nbf` (not in the future) and `exp` (not in the past), with the
 * clock tolerance. `iss` was checked before the key lookup, on this same decoded payload.
 */
function checkClaims(expect: JwsExpectations, payload: JWTPayload): void {
  for (const claim of new Set([...expect.requiredClaims, 'aud', 'iss'].reverse())) {
    if (!Object.hasOwn(payload, claim)) {
      throw fail(expect, 'CLAIMS_INVALID', `claim "${claim}" is missing`)
    }
  }
  if (!namesClient(payload.aud, expect.clientId)) {
    throw fail(expect, 'AUD_MISMATCH', `"aud" is not this client "${expect.clientId}"`)
  }
  const now = Math.floor(expect.now / 1000)
  numericDate(expect, payload, 'iat')
  const nbf = numericDate(expect, payload, 'nbf')
  if (nbf !== undefined && nbf > now + expect.clockTolerance) {
    throw fail(expect, 'CLAIMS_INVALID', 'claim "nbf" is invalid')
  }
  const exp = numericDate(expect, payload, 'exp')
  if (exp !== undefined && exp <= now - expect.clockTolerance) {
    throw fail(expect, 'EXPIRED', '"exp" is in the past')
  }
}

/**
 * Verifies a compact JWS JWT, decoded once: shape and encoding, `alg` in the allow-list (never
 * `none`, RFC 8725 §3.1), `iss` before any key lookup (JARM security considerations), the key by
 * kid and key shape, `crit`, the signature (with `crypto.verify`), the required claims, `aud`
 * (exactly this client, no other audiences), `nbf`, `exp`, and `iat` not in the future. Returns
 * the verified payload and its algorithm.
 */
export async function verifyJws(
  token: string,
  expect: JwsExpectations,
): Promise<{ payload: JWTPayload; alg: JwsAlgorithm }> {
  const jws = parseCompactJws(token)
  if (typeof jws === 'string') throw fail(expect, 'MALFORMED', MALFORMED[jws])
  const { header } = jws
  const payload: JWTPayload = jws.payload
  const alg = header.alg
  if (!isAllowed(alg, expect.algorithms)) {
    throw fail(expect, 'ALG_NOT_ALLOWED', `"alg" must be one of ${expect.algorithms.join(', ')}`)
  }
  if (payload.iss !== expect.issuer) {
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
  const unusable = critical(header)
  if (unusable !== undefined) throw fail(expect, 'MALFORMED', unusable)
  const verified = await verifySignature(alg, key, jws)
  if (verified !== true) throw fail(expect, 'SIGNATURE_INVALID', UNVERIFIED[verified])
  checkClaims(expect, payload)
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
