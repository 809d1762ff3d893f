/**
 * The login route and `startLogin()`: the core checks `returnTo` and the per-login parameters and
 * starts the login; the session is saved with the new pending login before the browser leaves
 * (STYLE 7), then a 303 to the authorization endpoint.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ResponseMode } from '../config/index.js'
import type { FapiCore } from '../core/client.js'
import type { AuthorizationParams } from '../core/flows/login-params.js'
import { FapiError, toFapiError } from '../errors.js'
import { forwardError } from './error-handler.js'
import { queryParams, redirect, type Middleware } from './http.js'
import { requireOwnerAtStart } from './owner.js'
import { partOf, requireSession, saveSession, setPart, type FapiSession } from './session.js'

/**
 * A session that holds no login yet (an anonymous visitor starting one) lives no longer than its
 * pending logins: its cookie, and so its entry in a store with expiry, gets `pendingLoginMaxAge`.
 * After the callback the regenerated session has the app's own cookie settings again.
 */
function boundAnonymousSession(session: FapiSession, key: string, maxAgeSeconds: number): void {
  const cookie = session.cookie
  if (cookie === undefined || partOf(session, key)?.grant !== undefined) return
  const bound = maxAgeSeconds * 1000
  if (typeof cookie.maxAge !== 'number' || cookie.maxAge > bound) cookie.maxAge = bound
}

/** What `startLogin(req, res, options)` may ask for, for this one login. */
export interface StartLoginOptions {
  /**
   * Authorization parameters of this login (`acr_values`, `claims`, `login_hint`, `max_age`,
   * `authorization_details`, …), added to the static `authorizationParams` inside the request
   * object or pushed request. `max_age` and essential `acr` values are then enforced on the ID
   * token. The library's own parameters are refused: `ERR_AUTHORIZATION_PARAM_RESERVED`.
   */
  readonly authorizationParams?: AuthorizationParams
  /** Where to go after the login (checked as `?returnTo=` is). Default: `defaultReturnTo`. */
  readonly returnTo?: string
  /** The response mode of this login: one of the client's `responseModes`. */
  readonly responseMode?: ResponseMode
}

/** What `login(options)` may ask for: the same, each also computed from the request. */
export interface LoginOptions<Req extends IncomingMessage = IncomingMessage> {
  /** Per-login authorization parameters, or a function of the request that returns them. */
  readonly authorizationParams?:
    AuthorizationParams | ((req: Req) => AuthorizationParams | Promise<AuthorizationParams>)
  /** A fixed `returnTo`, used instead of the query's `?returnTo=`. */
  readonly returnTo?: string
  /** The response mode, or a function of the request that picks it (undefined: `responseMode`). */
  readonly responseMode?: ResponseMode | ((req: Req) => ResponseMode | undefined)
}

/** Starts a login from any handler. Internal: reached through `fapiClient().startLogin`. */
export async function startLoginWith(
  core: FapiCore,
  req: IncomingMessage,
  res: ServerResponse,
  options: StartLoginOptions & { readonly returnToValues?: readonly string[] } = {},
): Promise<void> {
  try {
    const session = requireSession(req)
    // A link needs the session's owner: refused here, before the pushed request.
    await requireOwnerAtStart(core, req)
    const part = partOf(session, core.sessionKey)
    const started = await core.startLogin({
      returnTo:
        options.returnTo !== undefined ? [options.returnTo] : (options.returnToValues ?? []),
      transactions: part?.transactions,
      authorizationParams: options.authorizationParams,
      responseMode: options.responseMode,
    })
    setPart(session, core.sessionKey, { ...part, transactions: started.transactions })
    boundAnonymousSession(session, core.sessionKey, started.pendingLoginMaxAge)
    await saveSession(session)
    redirect(req, res, started.authorizationUrl)
  } catch (error) {
    throw toFapiError(error)
  }
}

/** The login middleware factory. Internal: reached through `fapiClient().login()`. */
export function createLogin<Req extends IncomingMessage>(
  core: FapiCore,
  options: LoginOptions<Req> = {},
): Middleware<Req> {
  return function fapiLogin(req, res, next) {
    // The app's own functions: their errors reach its error handler untouched.
    let mode: ResponseMode | undefined
    Promise.resolve()
      .then(() => {
        mode =
          typeof options.responseMode === 'function'
            ? options.responseMode(req)
            : options.responseMode
        return typeof options.authorizationParams === 'function'
          ? options.authorizationParams(req)
          : options.authorizationParams
      })
      .then(
        (params) =>
          startLoginWith(core, req, res, {
            ...(params === undefined ? {} : { authorizationParams: params }),
            ...(mode === undefined ? {} : { responseMode: mode }),
            ...(options.returnTo === undefined ? {} : { returnTo: options.returnTo }),
            returnToValues: queryParams(req).getAll('returnTo'),
          }).catch((error: unknown) => {
            if (error instanceof FapiError) forwardError(res, next, error)
            else next(error)
          }),
        next,
      )
  }
}
