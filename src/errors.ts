/**
 * Errors of express-fapi.
 *
 * Two kinds, never mixed:
 * - {@link FapiConfigError}: a configuration mistake, thrown synchronously at startup by
 *   `fapiClient()`; its message says which option to change.
 * - {@link FapiError} and its subclasses: a request-time failure, passed to `next(err)`. Each has a
 *   stable `code` (the contract: documented in the README), an HTTP `status`, and, where useful, a
 *   `cause`. Messages name the claim or parameter and what was expected; they never contain
 *   tokens, authorization codes or keys.
 *
 * @module
 */

/** The stable error codes of request-time failures. */
export type FapiErrorCode =
  // the callback request itself
  | 'ERR_CALLBACK_MALFORMED'
  | 'ERR_CALLBACK_BODY_TOO_LARGE'
  | 'ERR_CALLBACK_CONTENT_TYPE'
  | 'ERR_RESPONSE_MODE_DOWNGRADE'
  | 'ERR_RESPONSE_MODE_MISMATCH'
  | 'ERR_REDIRECT_URI_MISMATCH'
  // a plain (query) authorization response: RFC 9207 issuer identification
  | 'ERR_AUTHORIZATION_RESPONSE_ISS_MISSING'
  | 'ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH'
  // the JARM response
  | 'ERR_JARM_MALFORMED'
  | 'ERR_JARM_ENCRYPTED'
  | 'ERR_JARM_NOT_ENCRYPTED'
  | 'ERR_JARM_ENC_ALG_NOT_ALLOWED'
  | 'ERR_JARM_DECRYPTION_FAILED'
  | 'ERR_JARM_ALG_NOT_ALLOWED'
  | 'ERR_JARM_ISS_MISMATCH'
  | 'ERR_JARM_AUD_MISMATCH'
  | 'ERR_JARM_EXPIRED'
  | 'ERR_JARM_IAT_IN_FUTURE'
  | 'ERR_JARM_SIGNATURE_INVALID'
  | 'ERR_JARM_KEY_NOT_FOUND'
  | 'ERR_JARM_CLAIMS_INVALID'
  // transactions and sessions
  | 'ERR_TRANSACTION_NOT_FOUND'
  | 'ERR_TRANSACTION_EXPIRED'
  | 'ERR_SESSION_MISSING'
  | 'ERR_SESSION_STORE'
  | 'ERR_INVALID_RETURN_TO'
  // guards
  | 'ERR_LOGIN_REQUIRED'
  // the authorization server said no
  | 'ERR_AUTHORIZATION_ERROR'
  | 'ERR_AUTHORIZATION_ERROR_UNVERIFIED'
  // the authorization server's HTTP answers
  | 'ERR_AS_TIMEOUT'
  | 'ERR_AS_UNREACHABLE'
  | 'ERR_AS_HTTP_STATUS'
  | 'ERR_AS_INVALID_JSON'
  | 'ERR_AS_RESPONSE_TOO_LARGE'
  | 'ERR_DISCOVERY_ISSUER_MISMATCH'
  | 'ERR_DISCOVERY_INVALID'
  | 'ERR_JWKS_INVALID'
  | 'ERR_ENCRYPTION_KEY_NOT_FOUND'
  | 'ERR_PAR_REJECTED'
  | 'ERR_CLIENT_AUTH_REFUSED'
  | 'ERR_PAR_RESPONSE_INVALID'
  | 'ERR_TOKEN_REJECTED'
  | 'ERR_TOKEN_RESPONSE_INVALID'
  | 'ERR_TOKEN_TYPE_UNSUPPORTED'
  | 'ERR_TOKEN_NOT_SENDER_CONSTRAINED'
  // the ID token
  | 'ERR_ID_TOKEN_MISSING'
  | 'ERR_ID_TOKEN_MALFORMED'
  | 'ERR_ID_TOKEN_ENCRYPTED'
  | 'ERR_ID_TOKEN_NOT_ENCRYPTED'
  | 'ERR_ID_TOKEN_ENC_ALG_NOT_ALLOWED'
  | 'ERR_ID_TOKEN_DECRYPTION_FAILED'
  | 'ERR_ID_TOKEN_ALG_NOT_ALLOWED'
  | 'ERR_ID_TOKEN_KEY_NOT_FOUND'
  | 'ERR_ID_TOKEN_SIGNATURE_INVALID'
  | 'ERR_ID_TOKEN_ISS_MISMATCH'
  | 'ERR_ID_TOKEN_AUD_MISMATCH'
  | 'ERR_ID_TOKEN_AZP_MISMATCH'
  | 'ERR_ID_TOKEN_EXPIRED'
  | 'ERR_ID_TOKEN_IAT_IN_FUTURE'
  | 'ERR_ID_TOKEN_IAT_TOO_OLD'
  | 'ERR_ID_TOKEN_CLAIMS_INVALID'
  | 'ERR_ID_TOKEN_NONCE_MISMATCH'
  | 'ERR_ID_TOKEN_AT_HASH_MISMATCH'
  | 'ERR_ID_TOKEN_SUB_MISMATCH'
  // refreshing a login
  | 'ERR_REFRESH_TOKEN_MISSING'
  // the resource helper
  | 'ERR_RESOURCE_REQUEST_INVALID'
  | 'ERR_RESOURCE_TIMEOUT'
  | 'ERR_RESOURCE_UNREACHABLE'
  | 'ERR_RESOURCE_RESPONSE_TOO_LARGE'
  // the coordination store of several instances
  | 'ERR_COORDINATION_UNAVAILABLE'
  | 'ERR_COORDINATION_TIMEOUT'
  // our own bug or an unexpected failure: never expected, never detailed to the user
  | 'ERR_INTERNAL'

/**
 * A request-time failure with a stable `code` and an HTTP `status`.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (err instanceof FapiError) return res.status(err.status).json({ code: err.code })
 *   next(err)
 * })
 * ```
 */
export class FapiError extends Error {
  /** The stable, documented error code. */
  readonly code: FapiErrorCode
  /** The HTTP status an error handler should answer with. */
  readonly status: number

  constructor(code: FapiErrorCode, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.status = status
  }
}

/** The callback request is not a valid JARM authorization response for this client (HTTP 400). */
export class AuthorizationResponseError extends FapiError {}

/**
 * The authorization server answered the authorization request with an error, for example
 * `access_denied` when the user declined consent: inside a verified JARM response, or a plain
 * response whose RFC 9207 `iss` is this issuer (`ERR_AUTHORIZATION_ERROR`, `verified: true`).
 *
 * A plain error response without `iss`, from a server that does not promise one, may come from
 * anyone (RFC 9207 §2.4): it is `ERR_AUTHORIZATION_ERROR_UNVERIFIED`, `verified: false`. Show it,
 * but never act on it; it consumes no pending login.
 */
export class AuthorizationError extends FapiError {
  /** The OAuth `error` value, e.g. `access_denied`. */
  readonly error: string
  /** The server's `error_description`, if any, cut to 200 printable characters. */
  readonly errorDescription: string | undefined
  /** Whether the response is known to come from the configured issuer. */
  readonly verified: boolean

  constructor(error: string, errorDescription: string | undefined, verified = true) {
    super(
      verified ? 'ERR_AUTHORIZATION_ERROR' : 'ERR_AUTHORIZATION_ERROR_UNVERIFIED',
      verified && error === 'access_denied' ? 403 : 400,
      verified
        ? `the authorization server returned error "${error}"`
        : `an error response without "iss" arrived ("${error}"); it is not known to come from the authorization server`,
    )
    this.error = error
    this.errorDescription = errorDescription
    this.verified = verified
  }
}

/** The authorization server could not be reached, timed out, or answered something unusable. */
export class ServerResponseError extends FapiError {}

/** The ID token failed validation (OIDC Core 3.1.3.7). */
export class IdTokenError extends FapiError {}

/** The login transaction or the session could not be used. */
export class SessionError extends FapiError {}

/** The coordination store (shared by several instances) could not be used (HTTP 503). */
export class CoordinationError extends FapiError {}

/** A configuration mistake, thrown synchronously by `fapiClient()` at startup. */
export class FapiConfigError extends TypeError {
  /** Always `ERR_INVALID_CONFIG`. */
  readonly code = 'ERR_INVALID_CONFIG' as const

  constructor(message: string) {
    super(message)
    this.name = 'FapiConfigError'
  }
}

/** Printable, bounded rendition of a server-supplied string, safe for messages. */
export function printable(value: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
  return clean.length > max ? `${clean.slice(0, max)}…` : clean
}

/** Throws the startup error for an option: its name, then what is wrong and what to change. */
export function failOption(option: string, message: string): never {
  throw new FapiConfigError(`express-fapi: option "${option}" ${message}`)
}

/** A constructor of one of the request-time error classes. */
export type FapiErrorClass = new (
  code: FapiErrorCode,
  status: number,
  message: string,
  options?: { cause?: unknown },
) => FapiError

/** Our errors pass through; anything else (a bug, a thrown non-error) becomes `ERR_INTERNAL`. */
export function toFapiError(error: unknown): FapiError {
  if (error instanceof FapiError) return error
  return new FapiError('ERR_INTERNAL', 500, 'express-fapi failed unexpectedly', { cause: error })
}
