/**
 * The record of a finished login that an adapter keeps in the session, and the checks made each
 * time it is read back: it belongs to this client at this issuer, its tokens are usable, and a
 * DPoP-bound token comes with its key.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { Config } from '../../config/index.js'
import { SessionError } from '../../errors.js'
import { isDpopKey, type DpopKey } from '../jwt/dpop.js'
import type { IdTokenClaims } from '../jwt/id-token.js'
import { randomToken } from '../jwt/random.js'
import { seal, unseal } from '../jwt/seal.js'
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
  /** A random id of this login: what its refreshes and its logout are coordinated by. */
  readonly loginId?: string
  /** How many refreshes made these tokens (0 after the login). */
  readonly generation?: number
  /** What the server granted (RFC 9396 §7): the token response's `authorization_details`. */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
}

/**
 * A login whose tokens and DPoP key are sealed (option `sessionSecrets`): the claims stay
 * readable, `sealed` is a JWE that only the app's key opens.
 */
export interface SealedLogin {
  readonly issuer: string
  readonly clientId: string
  readonly claims: Readonly<Record<string, unknown>>
  readonly loggedInAt: number
  readonly loginId: string
  readonly generation: number
  /** What is not secret of the tokens: their type, scope and expiry. */
  readonly tokens: Pick<StoredLogin['tokens'], 'tokenType' | 'scope' | 'expiresAt'>
  /** What the server granted (RFC 9396 §7): not secret, kept readable. */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
  /** The tokens and the DPoP key, sealed (`dir` + A256GCM JWE). */
  readonly sealed: string
}

/** What the session holds for a finished login: as it is, or with its secrets sealed. */
export type SessionLogin = StoredLogin | SealedLogin

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
    loginId: randomToken(),
    generation: 0,
  }
}

/** The id a login's refreshes and logout are coordinated by (records older than ids: derived). */
export function loginIdOf(login: SessionLogin): string {
  if (typeof login.loginId === 'string' && login.loginId !== '') return login.loginId
  return createHash('sha256')
    .update(`${String(login.claims.sub)}\n${String(login.loggedInAt)}\n${login.issuer}`)
    .digest('base64url')
}

/** The refresh generation of a login record. */
export function generationOf(login: SessionLogin): number {
  return typeof login.generation === 'number' ? login.generation : 0
}

/** The record to keep in the session: secrets sealed when `sessionSecrets` is set. */
export async function sealLogin(login: StoredLogin, config: Config): Promise<SessionLogin> {
  const secrets = config.sessionSecrets
  if (secrets === undefined) return login
  const loginId = loginIdOf(login)
  const secret = {
    tokens: login.tokens,
    ...(login.dpopKey === undefined ? {} : { dpopKey: login.dpopKey }),
  }
  return {
    issuer: login.issuer,
    clientId: login.clientId,
    claims: login.claims,
    loggedInAt: login.loggedInAt,
    loginId,
    generation: generationOf(login),
    ...(login.authorizationDetails === undefined
      ? {}
      : { authorizationDetails: login.authorizationDetails }),
    tokens: {
      tokenType: login.tokens.tokenType,
      scope: login.tokens.scope,
      ...(login.tokens.expiresAt === undefined ? {} : { expiresAt: login.tokens.expiresAt }),
    },
    sealed: await seal(secrets, secret, `login:${loginId}`),
  }
}

/**
 * The session's login of this client with its secrets readable, or `ERR_LOGIN_REQUIRED` (also
 * when a sealed login does not open: its key was dropped, or it was tampered with).
 */
export async function openLogin(value: unknown, config: Config): Promise<StoredLogin> {
  if (!isLoginOf(value, config)) throw loginRequired()
  if (!('sealed' in value)) return value
  const secrets = config.sessionSecrets
  if (secrets === undefined) throw loginRequired()
  const opened = await unseal(secrets, value.sealed, `login:${value.loginId}`)
  const { tokens, dpopKey } = (opened ?? {}) as { tokens?: unknown; dpopKey?: unknown }
  if (
    typeof tokens !== 'object' ||
    tokens === null ||
    typeof (tokens as { idToken?: unknown }).idToken !== 'string' ||
    (dpopKey !== undefined && !isDpopKey(dpopKey))
  ) {
    throw loginRequired()
  }
  const { sealed: _sealed, ...rest } = value
  void _sealed
  return {
    ...rest,
    tokens: tokens as StoredLogin['tokens'],
    ...(dpopKey === undefined ? {} : { dpopKey }),
  }
}

/** The record after a refresh: new tokens and claims, the rest kept. */
export function storedAfterRefresh(
  login: StoredLogin,
  refreshed: {
    readonly claims: Readonly<Record<string, unknown>>
    readonly tokens: TokenSet | StoredLogin['tokens']
    readonly generation: number
  },
): StoredLogin {
  // A refresh may narrow what was granted (RFC 9396 §7); the login's grant stays otherwise.
  const details = (refreshed.tokens as Partial<TokenSet>).authorizationDetails
  return {
    ...login,
    loginId: loginIdOf(login),
    generation: refreshed.generation,
    claims: refreshed.claims,
    tokens: storedTokens(refreshed.tokens as TokenSet),
    ...(details === undefined ? {} : { authorizationDetails: details }),
  }
}

/** Narrows session content to a login made by this client at this issuer (sealed or not). */
export function isLoginOf(value: unknown, config: Config): value is SessionLogin {
  if (typeof value !== 'object' || value === null) return false
  const { issuer, clientId, tokens, sealed, loginId } = value as Record<string, unknown>
  if (issuer !== config.issuer || clientId !== config.clientId) return false
  if (typeof sealed === 'string') return typeof loginId === 'string'
  return (
    typeof tokens === 'object' &&
    tokens !== null &&
    typeof (tokens as { idToken?: unknown }).idToken === 'string'
  )
}

/** No usable login in the session. */
export function loginRequired(): SessionError {
  return new SessionError('ERR_LOGIN_REQUIRED', 'login required: no login in this session')
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
export function trimmedLogin<L extends SessionLogin>(
  login: L,
  claims: Readonly<Record<string, unknown>>,
): L {
  const kept: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(login.claims)) {
    if (PROTOCOL_CLAIMS.includes(name) || Object.hasOwn(claims, name)) kept[name] = value
  }
  return { ...login, claims: kept }
}
