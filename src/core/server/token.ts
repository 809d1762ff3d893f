/**
 * The authorization code grant's token request (RFC 6749 §4.1.3 with PKCE §4.5 and
 * `private_key_jwt`) and the checks of its answer (RFC 6749 §5.1, OIDC Core §3.1.3.5).
 *
 * @module
 */
import { ServerResponseError } from '../../errors.js'
import { postOAuthForm, type OAuthPostOptions } from '../transport/oauth-post.js'
import { grantedDetailsOf, type AuthorizationDetail } from './authorization-details.js'

/** The token types this client understands (RFC 6749 §7.1): bearer, or DPoP-bound. */
export type TokenType = 'Bearer' | 'DPoP'

/** A checked token response. */
export interface TokenSet {
  readonly accessToken: string
  /**
   * `DPoP` when the login used DPoP (RFC 9449 §5), else `Bearer` (also for mTLS-bound tokens,
   * RFC 8705 §3), whatever case the server used (RFC 6749 §5.1).
   */
  readonly tokenType: TokenType
  /** The signed ID token (decrypted, when the server encrypted it). */
  readonly idToken: string
  /** Milliseconds since the epoch, when the server gave `expires_in`. */
  readonly expiresAt: number | undefined
  readonly refreshToken: string | undefined
  /**
   * Milliseconds since the epoch, when the server said how long the refresh token lives
   * (`refresh_expires_in`, a common extension of RFC 6749 §5.1, e.g. Keycloak's); a value that
   * is not a positive number of seconds up to ten years is ignored (Keycloak's `0`
   * means "no expiry").
   */
  readonly refreshExpiresAt?: number
  /** The granted scope when the server said it, else the requested one. */
  readonly scope: string
  /** What the server granted (RFC 9396 §7), when its token response says. */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
}

function invalid(message: string): ServerResponseError {
  return new ServerResponseError('ERR_TOKEN_RESPONSE_INVALID', `token response: ${message}`)
}

/** Checks `token_type` against the type this login asked for. */
function checkTokenType(tokenType: string, expected: TokenType): void {
  const type = tokenType.toLowerCase()
  if (type === expected.toLowerCase()) return
  // RFC 9449 §5: a Bearer token where DPoP was asked for is not bound to this client; FAPI
  // (2.0 §5.3.3.1 (1)) does not let it be used.
  if (expected === 'DPoP' && type === 'bearer') {
    throw new ServerResponseError(
      'ERR_TOKEN_NOT_SENDER_CONSTRAINED',
      'token response: "token_type" is Bearer, but the token was requested with DPoP: the server did not bind it',
    )
  }
  // RFC 6749 §7.1: never use a token whose type is not understood.
  throw new ServerResponseError(
    'ERR_TOKEN_TYPE_UNSUPPORTED',
    `token response: "token_type" is not ${expected}`,
  )
}

/** A checked token response whose ID token may be absent (a refresh, OIDC Core §12.2). */
export type RefreshedTokenSet = Omit<TokenSet, 'idToken'> & { readonly idToken: string | undefined }

/** What a token response is checked against. */
export interface TokenResponseExpectations {
  readonly requestedScope: string
  readonly now: number
  readonly tokenType: TokenType
}

/**
 * The longest `expires_in` accepted (10 years, in seconds): beyond it a lifetime is a server bug
 * (`1e308` would make `expiresAt` Infinity, stored as `null`, and the token never expire).
 */
export const MAX_EXPIRES_IN = 315_360_000

/** `refresh_expires_in` as a time, when it is a positive number of seconds up to 10 years. */
function refreshExpiresAtOf(value: unknown, now: number): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined
  if (value <= 0 || value > MAX_EXPIRES_IN) return undefined
  return now + value * 1000
}

/** Checks a token endpoint answer's body (RFC 6749 §5.1) but `id_token`; unknown members ignored. */
export function checkTokenFields(
  body: Record<string, unknown>,
  options: TokenResponseExpectations,
): RefreshedTokenSet {
  const { access_token, token_type, id_token, expires_in, refresh_token, scope } = body
  if (typeof access_token !== 'string' || access_token === '')
    throw invalid('"access_token" is missing')
  if (typeof token_type !== 'string') throw invalid('"token_type" is missing')
  checkTokenType(token_type, options.tokenType)
  if (id_token !== undefined && (typeof id_token !== 'string' || id_token === '')) {
    throw invalid('"id_token" is not a non-empty string')
  }
  if (
    expires_in !== undefined &&
    (typeof expires_in !== 'number' ||
      !Number.isFinite(expires_in) ||
      expires_in < 0 ||
      expires_in > MAX_EXPIRES_IN)
  ) {
    throw invalid(`"expires_in" is not a number of seconds from 0 to ${MAX_EXPIRES_IN} (10 years)`)
  }
  if (refresh_token !== undefined && typeof refresh_token !== 'string')
    throw invalid('"refresh_token" is not a string')
  if (scope !== undefined && typeof scope !== 'string') throw invalid('"scope" is not a string')
  const authorizationDetails = grantedDetailsOf(body.authorization_details)
  const refreshExpiresAt =
    refresh_token === undefined
      ? undefined
      : refreshExpiresAtOf(body.refresh_expires_in, options.now)
  return {
    accessToken: access_token,
    tokenType: options.tokenType,
    idToken: id_token,
    expiresAt: typeof expires_in === 'number' ? options.now + expires_in * 1000 : undefined,
    refreshToken: refresh_token,
    ...(refreshExpiresAt === undefined ? {} : { refreshExpiresAt }),
    scope: scope ?? options.requestedScope,
    ...(authorizationDetails === undefined ? {} : { authorizationDetails }),
  }
}

/** Checks a token endpoint answer's body (RFC 6749 §5.1); unknown members are ignored. */
export function checkTokenResponse(
  body: Record<string, unknown>,
  options: TokenResponseExpectations,
): TokenSet {
  if (typeof body.id_token !== 'string' || body.id_token === '') {
    // The access token and its type are checked before a missing ID token is reported.
    const { access_token, token_type } = body
    if (typeof access_token !== 'string' || access_token === '')
      throw invalid('"access_token" is missing')
    if (typeof token_type !== 'string') throw invalid('"token_type" is missing')
    checkTokenType(token_type, options.tokenType)
    throw new ServerResponseError(
      'ERR_ID_TOKEN_MISSING',
      'token response: "id_token" is missing (scope has openid)',
    )
  }
  const tokens = checkTokenFields(body, options)
  return { ...tokens, idToken: body.id_token }
}

/**
 * Redeems the code: `grant_type=authorization_code`, the code, the exact `redirect_uri` of the
 * request, the PKCE `code_verifier`, and client authentication (all in `form`, built per
 * attempt), with a DPoP proof when the login is DPoP-bound.
 */
export async function requestTokens(
  endpoint: string,
  form: () => Promise<URLSearchParams>,
  options: OAuthPostOptions & { requestedScope: string; now: () => number },
): Promise<TokenSet> {
  const body = await postOAuthForm(endpoint, form, options, 'token', {
    expected: 200,
    rejected: 'ERR_TOKEN_REJECTED',
  })
  return checkTokenResponse(body, {
    requestedScope: options.requestedScope,
    now: options.now(),
    tokenType: options.dpop === undefined ? 'Bearer' : 'DPoP',
  })
}

/**
 * Refreshes (RFC 6749 §6): `grant_type=refresh_token` and the refresh token with client
 * authentication (all in `form`, built per attempt), a DPoP proof when the login is DPoP-bound. The
 * answer is checked as a code exchange's, but its `id_token` is optional (OIDC Core §12.2).
 */
export async function requestRefresh(
  endpoint: string,
  form: () => Promise<URLSearchParams>,
  options: OAuthPostOptions & { requestedScope: string; now: () => number },
): Promise<RefreshedTokenSet> {
  const body = await postOAuthForm(endpoint, form, options, 'token', {
    expected: 200,
    rejected: 'ERR_TOKEN_REJECTED',
  })
  return checkTokenFields(body, {
    requestedScope: options.requestedScope,
    now: options.now(),
    tokenType: options.dpop === undefined ? 'Bearer' : 'DPoP',
  })
}

/** The form of a token request, before client authentication is added. */
export function tokenRequestForm(params: {
  code: string
  redirectUri: string
  codeVerifier: string
}): URLSearchParams {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code: params.code,
    redirect_uri: params.redirectUri,
    code_verifier: params.codeVerifier,
  })
}
