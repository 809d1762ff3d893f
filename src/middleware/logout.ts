/**
 * `logout()`: ends the login for every instance (a refresh in flight elsewhere does not save
 * it back) and the local session, then sends the browser where the core says: the server's
 * `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0 §2), or `postLogoutRedirectUri`
 * (or `/`).
 *
 * @module
 */
import type { FapiCore } from '../core/client.js'
import { toFapiError } from '../errors.js'
import { redirect, type Middleware } from './http.js'
import { destroySession, partOf, requireSession } from './session.js'

/** The logout middleware factory. Internal: reached through `fapiClient().logout()`. */
export function createLogout(core: FapiCore): Middleware {
  return function fapiLogout(req, res, next) {
    Promise.resolve()
      .then(async () => {
        const session = requireSession(req)
        const stored = partOf(session, core.sessionKey)?.login
        // RFC 7009: the tokens are revoked first; a failure never keeps the user logged in.
        const target = await core.logout(stored, async () => {
          await core.revokeTokens(stored)
          await destroySession(session)
        })
        redirect(req, res, target)
      })
      .catch((error: unknown) => next(toFapiError(error)))
  }
}
