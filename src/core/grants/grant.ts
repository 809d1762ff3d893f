/**
 * A grant's life and its checks: the grant of a finished login, the grant after a refresh, and
 * the checks made each time it is used: its tokens are usable, and a DPoP-bound token comes with
 * its key.
 *
 * @module
 */
import type { Config } from '../../config/index.js'
import { SessionError } from '../../errors.js'
import { isDpopKey, type DpopKey } from '../jwt/dpop.js'
import type { ActiveGrant, GrantTokens } from './record.js'
import type { IdTokenClaims } from '../jwt/id-token.js'
import { randomToken } from '../jwt/random.js'
import type { BoundToken } from '../server/resource.js'
import type { TokenSet } from '../server/token.js'
import type { Transaction } from '../flows/transaction.js'

/** The stored form of a token set: no `undefined` fields (stores serialise to JSON). */
function storedTokens(tokens: TokenSet | GrantTokens): GrantTokens {
  return {
    accessToken: tokens.accessToken,
    tokenType: tokens.tokenType,
    idToken: tokens.idToken,
    scope: tokens.scope,
    ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
    ...(tokens.expiresAt === undefined ? {} : { expiresAt: tokens.expiresAt }),
    ...(tokens.refreshExpiresAt === undefined ? {} : { refreshExpiresAt: tokens.refreshExpiresAt }),
  }
}

/**
 * When a grant expires (its store may forget it), by the rule of `grantLifetime`: the refresh
 * token's lifetime when the server stated it, else now plus `grantLifetime`.
 */
export function grantExpiry(tokens: GrantTokens, now: number, config: Config): number {
  return tokens.refreshExpiresAt ?? now + config.grantLifetime * 1000
}

/** How long an ended grant is remembered (ms): a day. */
export const ENDED_LIFETIME = 86_400_000

/** The grant of a login that just finished (not stored yet). */
export function grantOfLogin(
  login: { readonly claims: IdTokenClaims; readonly tokens: TokenSet },
  transaction: Transaction,
  config: Config,
): ActiveGrant {
  const now = config.now()
  const { sid } = login.claims
  const tokens = storedTokens(login.tokens)
  return {
    id: randomToken(),
    issuer: config.issuer,
    clientId: config.clientId,
    sub: login.claims.sub,
    ...(typeof sid === 'string' && sid !== '' ? { sid } : {}),
    status: 'active',
    generation: 0,
    createdAt: now,
    updatedAt: now,
    expiresAt: grantExpiry(tokens, now, config),
    claims: { ...login.claims },
    ...(transaction.dpopKey === undefined ? {} : { dpopKey: transaction.dpopKey }),
    tokens,
    ...(login.tokens.authorizationDetails === undefined
      ? {}
      : { authorizationDetails: login.tokens.authorizationDetails }),
  }
}

/**
 * The grant after a refresh: new tokens and claims, the next generation, the rest kept. Its
 * expiry follows `grantLifetime`'s rule: the new refresh token's stated lifetime; else, when the
 * refresh token was not rotated, the lifetime stated before; else the later of the current
 * expiry and now plus `grantLifetime`.
 */
export function grantAfterRefresh(
  grant: ActiveGrant,
  refreshed: {
    readonly claims: Readonly<Record<string, unknown>>
    readonly tokens: TokenSet
  },
  config: Config,
): ActiveGrant {
  const now = config.now()
  // A refresh may narrow what was granted (RFC 9396 §7); the grant stays otherwise.
  const details = refreshed.tokens.authorizationDetails
  const rotated = refreshed.tokens.refreshToken !== grant.tokens.refreshToken
  const stated =
    refreshed.tokens.refreshExpiresAt ?? (rotated ? undefined : grant.tokens.refreshExpiresAt)
  const tokens = storedTokens({
    ...refreshed.tokens,
    ...(stated === undefined ? {} : { refreshExpiresAt: stated }),
  })
  return {
    ...grant,
    generation: grant.generation + 1,
    updatedAt: now,
    expiresAt: stated ?? Math.max(grant.expiresAt, grantExpiry(tokens, now, config)),
    claims: refreshed.claims,
    tokens,
    ...(details === undefined ? {} : { authorizationDetails: details }),
  }
}

/** No usable login in the session. */
export function loginRequired(): SessionError {
  return new SessionError('ERR_LOGIN_REQUIRED', 'login required: no login in this session')
}

/** Whether a login's access token has expired (or will within the clock tolerance). */
export function accessTokenExpired(login: ActiveGrant, config: Config): boolean {
  const { expiresAt } = login.tokens
  return typeof expiresAt === 'number' && expiresAt <= config.now() + config.clockTolerance * 1000
}

/** Whether a login has a refresh token. */
export function hasRefreshToken(login: ActiveGrant): boolean {
  const { refreshToken } = login.tokens
  return typeof refreshToken === 'string' && refreshToken !== ''
}

/** The login's token and binding, or `ERR_LOGIN_REQUIRED`. */
export function boundToken(login: ActiveGrant, config: Config): BoundToken {
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
export function refreshDpopKey(login: ActiveGrant): DpopKey | undefined {
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
export function trimmedGrant(
  login: ActiveGrant,
  claims: Readonly<Record<string, unknown>>,
): ActiveGrant {
  const kept: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(login.claims)) {
    if (PROTOCOL_CLAIMS.includes(name) || Object.hasOwn(claims, name)) kept[name] = value
  }
  return { ...login, claims: kept }
}
