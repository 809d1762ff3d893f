/**
 * The login route: the core checks `returnTo` and starts the login; the session is saved with the
 * new pending login before the browser leaves (STYLE 7), then a 303 to the authorization endpoint.
 *
 * @module
 */
import type { FapiCore } from '../core/client.js'
import { toFapiError } from '../errors.js'
import { queryParams, redirect, type Middleware } from './http.js'
import { requireSession, saveSession, type FapiSession } from './session.js'

/**
 * A session that holds no login yet (an anonymous visitor starting one) lives no longer than its
 * pending logins: its cookie, and so its entry in a store with expiry, gets `pendingLoginMaxAge`.
 * After the callback the regenerated session has the app's own cookie settings again.
 */
function boundAnonymousSession(session: FapiSession, maxAgeSeconds: number): void {
  const cookie = session.cookie
  if (cookie === undefined || session.fapi?.login !== undefined) return
  const bound = maxAgeSeconds * 1000
  if (typeof cookie.maxAge !== 'number' || cookie.maxAge > bound) cookie.maxAge = bound
}

/** The login middleware factory. Internal: reached through `fapiClient().login()`. */
export function createLogin(core: FapiCore): Middleware {
  return function fapiLogin(req, res, next) {
    Promise.resolve()
      .then(async () => {
        const session = requireSession(req)
        const started = await core.startLogin({
          returnTo: queryParams(req).getAll('returnTo'),
          transactions: session.fapi?.transactions,
        })
        session.fapi = { ...session.fapi, transactions: started.transactions }
        boundAnonymousSession(session, started.pendingLoginMaxAge)
        await saveSession(session)
        redirect(req, res, started.authorizationUrl)
      })
      .catch((error: unknown) => next(toFapiError(error)))
  }
}
