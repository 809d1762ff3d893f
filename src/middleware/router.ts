/**
 * `router()`: one middleware that mounts a client's routes by method and path, for
 * `app.use(auth.router())` in Express 4 and 5 and in Connect 3: the login (GET), the callback
 * (GET and POST, at `redirectUri`'s path), the logout (POST) and the client's JWKS (GET). Every
 * other request passes on to `next()`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FapiCore } from '../core/client.js'
import { FapiConfigError, toFapiError } from '../errors.js'
import { requestPath, send, type Middleware } from './http.js'

/**
 * Where `router()` mounts each route; `false` leaves a route out. The login and the callback
 * must be where the configuration says (`loginPath`, `redirectUri`'s path): change those options
 * to move them.
 */
export interface RouterPaths {
  /** Default: `loginPath` (`'/auth/login'`). GET and HEAD. */
  readonly login?: string | false
  /** Default: the path of `redirectUri`. GET and POST. */
  readonly callback?: string | false
  /** Default `'/auth/logout'`. POST only, so that other sites cannot log users out. */
  readonly logout?: string | false
  /** Default `'/.well-known/jwks.json'`: register its URL as the client's `jwks_uri`. GET and HEAD. */
  readonly jwks?: string | false
  /**
   * Default `'/auth/backchannel-logout'`: register its URL as the client's
   * `backchannel_logout_uri` (OpenID Connect Back-Channel Logout 1.0 §2.2). POST only.
   */
  readonly backchannelLogout?: string | false
}

/** The default paths of the routes that are not fixed by the configuration. */
export const ROUTER_DEFAULTS = Object.freeze({
  logout: '/auth/logout',
  jwks: '/.well-known/jwks.json',
  backchannelLogout: '/auth/backchannel-logout',
})

/** The four route handlers a router dispatches to. */
export interface RouterRoutes<Req extends IncomingMessage, Res extends ServerResponse> {
  readonly login: Middleware<Req, Res>
  readonly callback: Middleware<Req, Res>
  readonly logout: Middleware<Req, Res>
  readonly jwks: Middleware<Req, Res>
  readonly backchannelLogout: Middleware<Req, Res>
}

function pathOption(
  name: string,
  value: string | false | undefined,
  fallback: string,
): string | undefined {
  if (value === false) return undefined
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !value.startsWith('/') || /[?#]/.test(value)) {
    throw new FapiConfigError(
      `express-fapi: router({ ${name} }) must be a path starting with "/", or false`,
    )
  }
  return value
}

function fixedPath(
  name: 'login' | 'callback',
  value: string | false | undefined,
  configured: string,
  option: string,
): string | undefined {
  const path = pathOption(name, value, configured)
  if (path !== undefined && path !== configured) {
    throw new FapiConfigError(
      `express-fapi: router({ ${name}: "${path}" }) differs from ${option} ("${configured}"); set ${option} instead, so that the rest of the client agrees`,
    )
  }
  return path
}

/** The router factory. Internal: reached through `fapiClient().router()`. */
export function createRouter<Req extends IncomingMessage, Res extends ServerResponse>(
  core: FapiCore,
  routes: RouterRoutes<Req, Res>,
  paths: RouterPaths = {},
): Middleware<Req, Res> {
  const table: { path: string; methods: readonly string[]; handler: Middleware<Req, Res> }[] = []
  const add = (path: string | undefined, methods: string[], handler: Middleware<Req, Res>) => {
    if (path === undefined) return
    if (table.some((route) => route.path === path)) {
      throw new FapiConfigError(`express-fapi: router() mounts two routes at "${path}"`)
    }
    table.push({ path, methods, handler })
  }
  add(fixedPath('login', paths.login, core.paths.login, 'loginPath'), ['GET', 'HEAD'], routes.login)
  add(
    fixedPath('callback', paths.callback, core.paths.callback, 'redirectUri'),
    ['GET', 'POST'],
    routes.callback,
  )
  add(pathOption('logout', paths.logout, ROUTER_DEFAULTS.logout), ['POST'], routes.logout)
  add(pathOption('jwks', paths.jwks, ROUTER_DEFAULTS.jwks), ['GET', 'HEAD'], routes.jwks)
  add(
    pathOption('backchannelLogout', paths.backchannelLogout, ROUTER_DEFAULTS.backchannelLogout),
    ['POST'],
    routes.backchannelLogout,
  )
  const objects = core.paths.requestObjects
  if (objects !== undefined && table.some((route) => route.path.startsWith(`${objects}/`))) {
    throw new FapiConfigError(
      `express-fapi: router() mounts a route under requestObjectPath "${objects}"`,
    )
  }
  return function fapiRouter(req, res, next) {
    const path = requestPath(req)
    // RFC 9101 §5.2: the server fetches a request object by reference (GET), once.
    if (objects !== undefined && path.startsWith(`${objects}/`) && req.method === 'GET') {
      core
        .requestObject(path)
        .then((page) => send(req, res, page.status, page.headers, page.body))
        .catch((error: unknown) => next(toFapiError(error)))
      return
    }
    const route = table.find((entry) => entry.path === path)
    if (route === undefined || !route.methods.includes(req.method ?? '')) {
      next()
      return
    }
    route.handler(req, res, next)
  }
}
