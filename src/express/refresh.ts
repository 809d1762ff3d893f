/**
 * `refresh(req)`: refreshes the tokens of the logged-in user of `req` (FAPI 2.0 §5.3.3.1 (6)) and
 * saves the session with them: the new access token, the rotated refresh token (or the old one
 * when the server did not rotate), and the claims of a new, validated ID token (OIDC Core §12.2).
 * Refreshes of the same refresh token that overlap (parallel requests of one user) share one
 * request to the server, so a rotating server never sees the old token twice.
 *
 * @module
 */
import type { Request } from 'express'
import { isDpopKey, type DpopKey } from '../core/jwt/dpop.js'
import type { ClientContext } from '../core/flows/login.js'
import { refreshLogin, type RefreshedLogin } from '../core/flows/refresh.js'
import type { TokenSet } from '../core/server/token.js'
import { SessionError } from '../errors.js'
import { currentLogin } from './guards.js'
import { toFapiError } from './request.js'
import { requireSession, saveSession, type StoredLogin } from './session.js'

/** What `refresh(req)` resolves with. */
export interface RefreshResult {
  /** The claims of the new ID token, or the login's claims when the server sent none. */
  readonly claims: Readonly<Record<string, unknown>>
  /** The tokens now stored: the new access token, and the rotated (or kept) refresh token. */
  readonly tokens: TokenSet
}

/** Refreshes the tokens of the logged-in user of a request. */
export type Refresh = (req: Request) => Promise<RefreshResult>

/** No usable login in the session. */
export function loginRequired(): SessionError {
  return new SessionError('ERR_LOGIN_REQUIRED', 401, 'login required: no login in this session')
}

/** Refreshes a stored login and saves the session; resolves with the login now stored. */
export type RefreshStored = (req: Request, login: StoredLogin) => Promise<StoredLogin>

/** The session's login, or `ERR_LOGIN_REQUIRED`. */
export function requireLogin(req: Request, context: ClientContext): StoredLogin {
  const login = currentLogin(req, context.config)
  if (login === undefined) throw loginRequired()
  return login
}

/** Whether a login's access token has expired (or will within the clock tolerance). */
export function accessTokenExpired(login: StoredLogin, context: ClientContext): boolean {
  const { expiresAt } = login.tokens
  const { now, clockTolerance } = context.config
  return typeof expiresAt === 'number' && expiresAt <= now() + clockTolerance * 1000
}

/** Whether a login has a refresh token. */
export function hasRefreshToken(login: StoredLogin): boolean {
  const { refreshToken } = login.tokens
  return typeof refreshToken === 'string' && refreshToken !== ''
}

/** The stored login after a refresh. */
function storedAfter(login: StoredLogin, refreshed: RefreshedLogin): StoredLogin {
  const { tokens } = refreshed
  return {
    ...login,
    claims: refreshed.claims,
    tokens: {
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      idToken: tokens.idToken,
      scope: tokens.scope,
      ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
      ...(tokens.expiresAt === undefined ? {} : { expiresAt: tokens.expiresAt }),
    },
  }
}

/** How long a finished refresh answers requests that still hold its old refresh token (ms). */
const REUSE_WINDOW = 10_000

/** At most this many refreshes are remembered. */
const MAX_RECENT = 1000

/** The shared refresher of one client. Internal. */
export function createRefreshStored(context: ClientContext): RefreshStored {
  // Refreshes by the refresh token they used: in flight, then kept for a few seconds after
  // success, so that a parallel request whose session copy still holds the old (rotated) token
  // gets the same result instead of sending the old token again. Bounded.
  const recent = new Map<string, { result: Promise<RefreshedLogin>; until: number }>()
  return async function refreshStored(req, login) {
    const { refreshToken, tokenType } = login.tokens
    if (typeof refreshToken !== 'string' || refreshToken === '') {
      throw new SessionError(
        'ERR_REFRESH_TOKEN_MISSING',
        401,
        'refresh: the login has no refresh token (the server issued none); log in again',
      )
    }
    let dpopKey: DpopKey | undefined
    if (tokenType === 'DPoP') {
      // A DPoP-bound login cannot be refreshed (nor its tokens used) without its key.
      if (!isDpopKey(login.dpopKey)) throw loginRequired()
      dpopKey = login.dpopKey
    } else if (tokenType !== 'Bearer') {
      throw loginRequired()
    }
    const now = context.config.now()
    for (const [token, entry] of recent) {
      if (entry.until <= now) recent.delete(token)
    }
    let pending = recent.get(refreshToken)?.result
    if (pending === undefined) {
      const result = refreshLogin(context, {
        refreshToken,
        dpopKey,
        idToken: login.tokens.idToken,
        claims: login.claims,
        scope: typeof login.tokens.scope === 'string' ? login.tokens.scope : context.config.scope,
      })
      pending = result
      recent.set(refreshToken, { result, until: Number.POSITIVE_INFINITY })
      for (const token of recent.keys()) {
        if (recent.size <= MAX_RECENT) break
        recent.delete(token)
      }
      result.then(
        () => {
          const entry = recent.get(refreshToken)
          if (entry?.result === result) entry.until = context.config.now() + REUSE_WINDOW
        },
        () => {
          if (recent.get(refreshToken)?.result === result) recent.delete(refreshToken)
        },
      )
    }
    const stored = storedAfter(login, await pending)
    const session = requireSession(req)
    session.fapi = { ...session.fapi, login: stored }
    await saveSession(session)
    return stored
  }
}

/** The `refresh(req)` factory. Internal: reached through `fapiClient().refresh`. */
export function createRefresh(context: ClientContext, refreshStored: RefreshStored): Refresh {
  return async function refresh(req) {
    try {
      const stored = await refreshStored(req, requireLogin(req, context))
      const { tokens } = stored
      return {
        claims: stored.claims,
        tokens: {
          accessToken: tokens.accessToken,
          tokenType: tokens.tokenType === 'DPoP' ? 'DPoP' : 'Bearer',
          idToken: tokens.idToken,
          expiresAt: tokens.expiresAt,
          refreshToken: tokens.refreshToken,
          scope: tokens.scope,
        },
      }
    } catch (error) {
      throw toFapiError(error)
    }
  }
}
