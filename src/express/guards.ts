/**
 * `requiresAuth()`: lets requests of a logged-in user through. Page requests of anyone else are
 * sent to the login route with `returnTo` set to the page; API requests get a 401 with a code,
 * since a script cannot follow a login through the authorization server.
 *
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { isSafeRelativePath, type Config } from '../config/index.js'
import type { FapiErrorCode } from '../errors.js'
import { requireSession, type StoredLogin } from './session.js'
import { toFapiError } from './request.js'

/** Narrows session content to a login made by this client at this issuer. */
function isLoginOf(value: unknown, config: Config): value is StoredLogin {
  if (typeof value !== 'object' || value === null) return false
  const { issuer, clientId, tokens } = value as Partial<Record<keyof StoredLogin, unknown>>
  return (
    issuer === config.issuer &&
    clientId === config.clientId &&
    typeof tokens === 'object' &&
    tokens !== null &&
    typeof (tokens as { idToken?: unknown }).idToken === 'string'
  )
}

/** The session's login, when it was made by this client at this issuer. */
export function currentLogin(req: Request, config: Config): StoredLogin | undefined {
  const login: unknown = requireSession(req).fapi?.login
  return isLoginOf(login, config) ? login : undefined
}

/**
 * A request from a script rather than a page load: `X-Requested-With` is set, or the client
 * prefers JSON to HTML (`Accept`). A script's fetch() should ask for JSON.
 */
function isApiRequest(req: Request): boolean {
  if (req.get('x-requested-with') !== undefined) return true
  return req.accepts(['html', 'json']) === 'json'
}

/** The login route, with `returnTo` set to the requested page when it is a GET of a local path. */
function loginLocation(req: Request, config: Config): string {
  const page = req.originalUrl || req.url
  if ((req.method === 'GET' || req.method === 'HEAD') && isSafeRelativePath(page)) {
    return `${config.loginPath}?${new URLSearchParams({ returnTo: page }).toString()}`
  }
  return config.loginPath
}

const LOGIN_REQUIRED: FapiErrorCode = 'ERR_LOGIN_REQUIRED'

/** The guard factory. Internal: reached through `fapiClient().requiresAuth()`. */
export function createRequiresAuth(config: Config): RequestHandler {
  return function fapiRequiresAuth(req: Request, res: Response, next: NextFunction) {
    let login: StoredLogin | undefined
    try {
      login = currentLogin(req, config)
    } catch (error) {
      next(toFapiError(error))
      return
    }
    if (login !== undefined) {
      next()
      return
    }
    res.set('Cache-Control', 'no-store')
    if (isApiRequest(req)) {
      res.status(401).json({ error: LOGIN_REQUIRED, message: 'login required' })
      return
    }
    res.redirect(303, loginLocation(req, config))
  }
}
