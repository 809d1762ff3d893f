/**
 * The record of a finished login that an adapter keeps in the session, and the checks made each
 * time it is read back: it belongs to this client at this issuer, its tokens are usable, and a
 * DPoP-bound token comes with its key.
 *
 * @module
 */
import type { Config } from '../../config/index.js'
import { SessionError } from '../../errors.js'
import { isDpopKey, type DpopKey } from '../jwt/dpop.js'
import type { IdTokenClaims } from '../jwt/id-token.js'
import type { BoundToken } from '../server/resource.js'
import type { TokenSet } from '../server/token.js'
import type { Transaction } from './transaction.js'
import type { AuthorizationDetail } from '../server/authorization-details.js'

/** What a completed login keeps in the session. */
export interface StoredLogin {
  readonly issuer: string
  readonly clientId: string
  readonly claims: Readonly<Record<string, unknown>>
  /** The login's DPoP key (RFC 9449) when its tokens are DPoP-bound. Keep the session server-side. */
  readonly dpopKey?: DpopKey
  readonly tokens: {
    readonly accessToken: string
    /** `DPoP` for DPoP-bound tokens, else `Bearer` (also when certificate-bound). */
    readonly tokenType: string
    readonly idToken: string
    readonly refreshToken?: string
    /** Milliseconds since the epoch. */
    readonly expiresAt?: number
    readonly scope: string
  }
  /** Milliseconds since the epoch. */
  readonly loggedInAt: number
  /** What the server granted (RFC 9396 §7): the token response's `authorization_details`. */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
}

/** The stored form of a token set: no `undefined` fields (session stores serialise to JSON). */
function storedTokens(tokens: TokenSet): StoredLogin['tokens'] {
  return {
    accessToken: tokens.accessToken,
    tokenType: tokens.tokenType,
    idToken: tokens.idToken,
    scope: tokens.scope,
    ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
    ...(tokens.expiresAt === undefined ? {} : { expiresAt: tokens.expiresAt }),
  }
}

/** The record of a login that just finished. */
export function storedLoginOf(
  login: { readonly claims: IdTokenClaims; readonly tokens: TokenSet },
  transaction: Transaction,
  config: Config,
): StoredLogin {
  return {
    issuer: config.issuer,
    clientId: config.clientId,
    claims: { ...login.claims },
    ...(transaction.dpopKey === undefined ? {} : { dpopKey: transaction.dpopKey }),
    tokens: storedTokens(login.tokens),
    loggedInAt: config.now(),
    ...(login.tokens.authorizationDetails === undefined
      ? {}
      : { authorizationDetails: login.tokens.authorizationDetails }),
  }
}

/** The record after a refresh: new tokens and claims, the rest kept. */
export function storedAfterRefresh(
  login: StoredLogin,
  refreshed: { readonly claims: Readonly<Record<string, unknown>>; readonly tokens: TokenSet },
): StoredLogin {
  const details = refreshed.tokens.authorizationDetails
  return {
    ...login,
    claims: refreshed.claims,
    tokens: storedTokens(refreshed.tokens),
    ...(details === undefined ? {} : { authorizationDetails: details }),
  }
}

/** Narrows session content to a login made by this client at this issuer. */
export function isLoginOf(value: unknown, config: Config): value is StoredLogin {
  if (typeof value !== 'object' || value === null) return false
  const { issuer, clientId, tokens } = value as Partial<Record<keyof StoredLogin, unknown>>
  return (
    issuer === config.issuer &&
    clientId === config.clientId &&
    typeof tokens === 'object' &&
    tokens !== null &&
    typeof (tokens as { idToken?: unknown }).idToken === 'string'
  )
}

/** No usable login in the session. */
export function loginRequired(): SessionError {
  return new SessionError('ERR_LOGIN_REQUIRED', 'login required: no login in this session')
}

/** The session's login of this client, or `ERR_LOGIN_REQUIRED`. */
export function requireLoginOf(value: unknown, config: Config): StoredLogin {
  if (!isLoginOf(value, config)) throw loginRequired()
  return value
}

/** Whether a login's access token has expired (or will within the clock tolerance). */
export function accessTokenExpired(login: StoredLogin, config: Config): boolean {
  const { expiresAt } = login.tokens
  return typeof expiresAt === 'number' && expiresAt <= config.now() + config.clockTolerance * 1000
}

/** Whether a login has a refresh token. */
export function hasRefreshToken(login: StoredLogin): boolean {
  const { refreshToken } = login.tokens
  return typeof refreshToken === 'string' && refreshToken !== ''
}

/** The login's token and binding, or `ERR_LOGIN_REQUIRED`. */
export function boundToken(login: StoredLogin, config: Config): BoundToken {
  const { accessToken, tokenType } = login.tokens
  if (typeof accessToken !== 'string' || accessToken === '') throw loginRequired()
  if (tokenType === 'DPoP') {
    // A DPoP-bound token is useless (and never sent) without its key.
    if (!isDpopKey(login.dpopKey)) throw loginRequired()
    return { accessToken, tokenType, dpopKey: login.dpopKey, certificate: false }
  }
  if (tokenType !== 'Bearer') throw loginRequired()
  return {
    accessToken,
    tokenType,
    dpopKey: undefined,
    certificate: config.senderConstraint === 'mtls',
  }
}

/** The DPoP key a refresh of this login needs, or `ERR_LOGIN_REQUIRED` when it is unusable. */
export function refreshDpopKey(login: StoredLogin): DpopKey | undefined {
  const { tokenType } = login.tokens
  if (tokenType === 'DPoP') {
    // A DPoP-bound login cannot be refreshed (nor its tokens used) without its key.
    if (!isDpopKey(login.dpopKey)) throw loginRequired()
    return login.dpopKey
  }
  if (tokenType !== 'Bearer') throw loginRequired()
  return undefined
}

/**
 * The claims a stored login always keeps, whatever an app's `beforeSession` trims: refresh (OIDC
 * Core §12.2), logout and the accessors need them.
 */
const PROTOCOL_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'acr',
  'amr',
  'azp',
  'sid',
]

/**
 * The login with its claims trimmed to `claims`: only claims the ID token had, with their values
 * (an app may drop claims, never add or change them), and the protocol claims always.
 */
export function trimmedLogin(
  login: StoredLogin,
  claims: Readonly<Record<string, unknown>>,
): StoredLogin {
  const kept: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(login.claims)) {
    if (PROTOCOL_CLAIMS.includes(name) || Object.hasOwn(claims, name)) kept[name] = value
  }
  return { ...login, claims: kept }
}
