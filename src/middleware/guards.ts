/**
 * `requiresAuth()`: lets requests of a logged-in user through. Page requests of anyone else are
 * sent to the login route with `returnTo` set to the page; API requests get a 401 with a code,
 * since a script cannot follow a login through the authorization server.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import { FapiError, toFapiError, type FapiErrorCode } from '../errors.js'
import { header, prefersJson, redirect, requestUrl, sendJson, type Middleware } from './http.js'
import { currentGrant } from './grants.js'
import { requireSession } from './session.js'

/**
 * A request from a script rather than a page load: `X-Requested-With` is set, or the client
 * prefers JSON to HTML (`Accept`). A script's fetch() should ask for JSON.
 */
function isApiRequest(req: IncomingMessage): boolean {
  return header(req, 'x-requested-with') !== undefined || prefersJson(req)
}

const LOGIN_REQUIRED: FapiErrorCode = 'ERR_LOGIN_REQUIRED'

/** What `requiresAuth(options)` also asks of the login. */
export interface RequiresAuthOptions {
  /**
   * A predicate over the login's ID token claims: false is `ERR_CLAIMS_CHECK_FAILED` (403), not
   * a new login. Default: none.
   */
  readonly claims?: (claims: Readonly<Record<string, unknown>>) => boolean
  /**
   * The `acr` values accepted: a login whose ID token `acr` is not one of them is
   * `ERR_ACR_INSUFFICIENT` (403). Start a login that asks for one (e.g. `claims` with an essential
   * `acr`) to step up. Default: none.
   */
  readonly acr?: readonly string[]
}

/** The guard factory. Internal: reached through `fapiClient().requiresAuth()`. */
export function createRequiresAuth(core: FapiCore, options: RequiresAuthOptions = {}): Middleware {
  const { claims: predicate, acr } = options
  if (predicate !== undefined && typeof predicate !== 'function') {
    throw new TypeError('express-fapi: requiresAuth({ claims }) must be a function of the claims')
  }
  if (acr !== undefined && (!Array.isArray(acr) || acr.some((v) => typeof v !== 'string'))) {
    throw new TypeError('express-fapi: requiresAuth({ acr }) must be an array of acr values')
  }
  return function fapiRequiresAuth(req, res, next) {
    Promise.resolve()
      .then(() => {
        requireSession(req)
        return currentGrant(core, req)
      })
      .then(
        (grant) => {
          if (grant !== undefined) {
            const { claims } = grant
            if (
              acr !== undefined &&
              (typeof claims.acr !== 'string' || !acr.includes(claims.acr))
            ) {
              next(
                new FapiError(
                  'ERR_ACR_INSUFFICIENT',
                  `this page needs an authentication of level ${acr.join(' or ')}`,
                ),
              )
              return
            }
            let allowed: boolean
            try {
              allowed = predicate === undefined || predicate(claims) === true
            } catch (error) {
              next(error)
              return
            }
            if (!allowed) {
              next(new FapiError('ERR_CLAIMS_CHECK_FAILED', 'this login may not open this page'))
              return
            }
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
        },
        (error: unknown) => next(toFapiError(error)),
      )
  }
}
