/**
 * `refresh(req)`: refreshes the tokens of the logged-in user of `req` (the core's single flight,
 * FAPI 2.0 §5.3.3.1 (6)) and saves the session with the record it returns.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { SessionLogin } from '../core/flows/stored-login.js'
import type { TokenSet } from '../core/server/token.js'
import { toFapiError } from '../errors.js'
import { partOf, requireSession, saveSession, setPart } from './session.js'

/** What `refresh(req)` resolves with. */
export interface RefreshResult {
  /** The claims of the new ID token, or the login's claims when the server sent none. */
  readonly claims: Readonly<Record<string, unknown>>
  /** The tokens now stored: the new access token, and the rotated (or kept) refresh token. */
  readonly tokens: TokenSet
}

/** Refreshes the tokens of the logged-in user of a request. */
export type Refresh = (req: IncomingMessage) => Promise<RefreshResult>

/**
 * Keeps a refreshed login record in this client's part of the request's session, unless the login
 * was logged out meanwhile (on any instance): then `ERR_LOGIN_REQUIRED` and nothing is saved.
 */
export async function storeLogin(
  core: FapiCore,
  req: IncomingMessage,
  login: SessionLogin,
): Promise<void> {
  const session = requireSession(req)
  const key = core.sessionKey
  await core.commitLogin(login, async () => {
    setPart(session, key, { ...partOf(session, key), login })
    await saveSession(session)
  })
}

/** The `refresh(req)` factory. Internal: reached through `fapiClient().refresh`. */
export function createRefresh(core: FapiCore): Refresh {
  return async function refresh(req) {
    try {
      const refreshed = await core.refresh(partOf(requireSession(req), core.sessionKey)?.login)
      await storeLogin(core, req, refreshed.record)
      const { tokens } = refreshed
      return {
        claims: refreshed.claims,
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
