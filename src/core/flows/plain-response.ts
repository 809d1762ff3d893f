/**
 * A plain (unsigned) authorization response in the query, as FAPI 2.0 Security Profile allows it:
 * checked by its `iss` parameter (RFC 9207 §2.4) before anything else in it is used, so a response
 * of another authorization server (mix-up, RFC 9700 §4.4) is refused.
 *
 * - `iss`, URL-decoded, must equal the issuer exactly (a simple string comparison); another
 *   configured server's issuer there is a mix-up (`ERR_MIX_UP_DETECTED`, RFC 9700 §4.4);
 * - a response without `iss` is refused when the server promises it
 *   (`authorization_response_iss_parameter_supported`), and FAPI 2.0 servers must;
 * - an error response without `iss` is not assumed to come from the server: it becomes
 *   `ERR_AUTHORIZATION_ERROR_UNVERIFIED`, and touches no pending login.
 *
 * @module
 * @see RFC 9207 §2.4; FAPI 2.0 §5.3.3.2 (5)
 */
import { AuthorizationError, AuthorizationResponseError, printable } from '../../errors.js'
import type { AuthorizationResponse } from '../jwt/jarm.js'

/** The parameters of a plain authorization response, each at most once. */
const SINGLE = ['iss', 'state', 'code', 'error', 'error_description'] as const

function malformed(message: string): AuthorizationResponseError {
  return new AuthorizationResponseError('ERR_CALLBACK_MALFORMED', message)
}

/**
 * Checks a plain authorization response: each parameter once, then RFC 9207 `iss`, then `state`,
 * then `code` or `error`.
 */
export function checkPlainResponse(
  params: URLSearchParams,
  expect: {
    readonly issuer: string
    readonly issRequired: boolean
    /** The mix-up error when `iss` is another configured server's issuer (RFC 9700 §4.4). */
    readonly mixUp?: (iss: string) => AuthorizationResponseError | undefined
  },
): AuthorizationResponse {
  for (const name of SINGLE) {
    if (params.getAll(name).length > 1) malformedParameter(name)
  }
  // URLSearchParams has URL-decoded the value (RFC 9207 §2.4); compare it as a string.
  const iss = params.get('iss')
  const error = params.get('error')
  const description = params.get('error_description')
  if (iss !== null && iss !== expect.issuer) {
    const mixUp = expect.mixUp?.(iss)
    if (mixUp !== undefined) throw mixUp
    throw new AuthorizationResponseError(
      'ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH',
      `the authorization response's "iss" is not the issuer "${expect.issuer}" (RFC 9207 §2.4)`,
    )
  }
  if (iss === null && expect.issRequired) {
    throw new AuthorizationResponseError(
      'ERR_AUTHORIZATION_RESPONSE_ISS_MISSING',
      'the authorization response has no "iss", which the server promises (RFC 9207 §2.4)',
    )
  }
  if (iss === null && error !== null) {
    // RFC 9207 §2.4: nothing says who sent this error; it is shown, never acted upon.
    throw new AuthorizationError(
      printable(error, 64),
      description === null ? undefined : printable(description),
      false,
    )
  }
  const state = params.get('state')
  if (state === null || state === '') throw malformed('the authorization response has no "state"')
  if (error !== null) {
    if (error === '') throw malformed('the authorization response has an empty "error"')
    return {
      state,
      error: printable(error, 64),
      errorDescription: description === null ? undefined : printable(description),
    }
  }
  const code = params.get('code')
  if (code === null || code === '') throw malformed('the authorization response has no "code"')
  return { state, code }
}

function malformedParameter(name: string): never {
  throw malformed(`the authorization response has "${name}" more than once`)
}
