/**
 * `requiresAuth()`: lets requests of a logged-in user through. Page requests of anyone else are
 * sent to the login route with `returnTo` set to the page; API requests get a 401 with a code,
 * since a script cannot follow a login through the authorization server.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import { toFapiError, type FapiErrorCode } from '../errors.js'
import { header, prefersJson, redirect, requestUrl, sendJson, type Middleware } from './http.js'
import { requireSession } from './session.js'

/**
 * A request from a script rather than a page load: `X-Requested-With` is set, or the client
 * prefers JSON to HTML (`Accept`). A script's fetch() should ask for JSON.
 */
function isApiRequest(req: IncomingMessage): boolean {
  return header(req, 'x-requested-with') !== undefined || prefersJson(req)
}

const LOGIN_REQUIRED: FapiErrorCode = 'ERR_LOGIN_REQUIRED'

/** The guard factory. Internal: reached through `fapiClient().requiresAuth()`. */
export function createRequiresAuth(core: FapiCore): Middleware {
  return function fapiRequiresAuth(req, res, next) {
    let loggedIn: boolean
    try {
      loggedIn = core.currentLogin(requireSession(req).fapi?.login) !== undefined
    } catch (error) {
      next(toFapiError(error))
      return
    }
    if (loggedIn) {
      next()
      return
    }
    if (isApiRequest(req)) {
      sendJson(
        req,
        res,
        401,
        { error: LOGIN_REQUIRED, message: 'login required' },
        { 'Cache-Control': 'no-store' },
      )
      return
    }
    redirect(req, res, core.loginRedirect(req.method ?? 'GET', requestUrl(req)))
  }
}
