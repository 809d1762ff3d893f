/**
 * The login route: the core checks `returnTo` and starts the login; the session is saved with the
 * new pending login before the browser leaves (STYLE 7), then a 303 to the authorization endpoint.
 *
 * @module
 */
import type { FapiCore } from '../core/client.js'
import { toFapiError } from '../errors.js'
import { queryParams, redirect, type Middleware } from './http.js'
import { requireSession, saveSession } from './session.js'

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
        await saveSession(session)
        redirect(req, res, started.authorizationUrl)
      })
      .catch((error: unknown) => next(toFapiError(error)))
  }
}
