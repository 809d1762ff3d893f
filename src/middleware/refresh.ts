/**
 * `refresh(req)`: refreshes the tokens of the logged-in user of `req` (the core's single flight,
 * FAPI 2.0 §5.3.3.1 (6)); the grant changes in the grant store, never in the session.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { TokenSet } from '../core/server/token.js'
import { toFapiError } from '../errors.js'
import { forgetGrantReads, grantIdOf } from './grants.js'
import { requireSession } from './session.js'

/** What `refresh(req)` resolves with. */
export interface RefreshResult {
  /** The claims of the new ID token, or the login's claims when the server sent none. */
  readonly claims: Readonly<Record<string, unknown>>
  /** The tokens now stored: the new access token, and the rotated (or kept) refresh token. */
  readonly tokens: TokenSet
}

/** Refreshes the tokens of the logged-in user of a request. */
export type Refresh = (req: IncomingMessage) => Promise<RefreshResult>

/** The `refresh(req)` factory. Internal: reached through `fapiClient().refresh`. */
export function createRefresh(core: FapiCore): Refresh {
  return async function refresh(req) {
    try {
      // The grant changes in the grant store only: the session keeps its id, nothing to save.
      const grant = await core.refresh(grantIdOf(requireSession(req), core.sessionKey))
      forgetGrantReads(req)
      const { tokens } = grant
      return {
        claims: grant.claims,
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
