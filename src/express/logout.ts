/**
 * `logout()`: ends the local session, then, when the server has an `end_session_endpoint`, sends
 * the browser there (OpenID Connect RP-Initiated Logout 1.0 §2) so that the user is signed out
 * at the server too; otherwise straight to `postLogoutRedirectUri` (or `/`).
 *
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Session } from 'express-session'
import type { ClientContext } from '../core/flows/login.js'
import { SessionError } from '../errors.js'
import { currentLogin } from './guards.js'
import { toFapiError } from './request.js'
import { requireSession } from './session.js'

/** `session.destroy()` as a promise; a store failure is `ERR_SESSION_STORE`. */
function destroySession(session: Session): Promise<void> {
  return new Promise((resolve, reject) => {
    session.destroy((error?: unknown) => {
      if (error) {
        reject(
          new SessionError(
            'ERR_SESSION_STORE',
            500,
            'the session store failed to destroy the session',
            {
              cause: error,
            },
          ),
        )
      } else resolve()
    })
  })
}

/**
 * The server's logout URL with `id_token_hint`, `client_id` and `post_logout_redirect_uri` (RP-
 * Initiated Logout §2), or undefined when the server has none or cannot be reached: the local
 * logout has happened by then and must not fail because of the server.
 */
async function endSessionUrl(context: ClientContext, idToken: string): Promise<string | undefined> {
  const { config } = context
  let endpoint: string | undefined
  try {
    endpoint = (await context.discovery.get()).endSessionEndpoint
  } catch {
    return undefined
  }
  if (endpoint === undefined) return undefined
  const url = new URL(endpoint)
  url.searchParams.set('id_token_hint', idToken)
  url.searchParams.set('client_id', config.clientId)
  if (config.postLogoutRedirectUri !== undefined) {
    url.searchParams.set('post_logout_redirect_uri', config.postLogoutRedirectUri)
  }
  return url.href
}

async function logout(context: ClientContext, req: Request, res: Response): Promise<void> {
  const { config } = context
  const session = requireSession(req)
  const idToken = currentLogin(req, config)?.tokens.idToken
  await destroySession(session)
  const target =
    (idToken === undefined ? undefined : await endSessionUrl(context, idToken)) ??
    config.postLogoutRedirectUri ??
    '/'
  res.set('Cache-Control', 'no-store')
  res.redirect(303, target)
}

/** The logout middleware factory. Internal: reached through `fapiClient().logout()`. */
export function createLogout(context: ClientContext): RequestHandler {
  return function fapiLogout(req: Request, res: Response, next: NextFunction) {
    logout(context, req, res).catch((error: unknown) => next(toFapiError(error)))
  }
}
