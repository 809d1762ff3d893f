/**
 * The callback route: the request read into plain data, handed to the core with the session's
 * pending logins (taken once, the session saved before the code is redeemed); a relay page is sent
 * as it is; a finished login gets a new session (new id: no fixation) that holds its record, and
 * only then is the app's handler called.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { PendingLogins } from '../core/flows/callback.js'
import type { CallbackRequest } from '../core/flows/delivery.js'
import type { SessionLogin } from '../core/flows/stored-login.js'
import type { IdTokenClaims } from '../core/jwt/id-token.js'
import type { TokenSet } from '../core/server/token.js'
import { toFapiError } from '../errors.js'
import { readFormBody } from './form-body.js'
import { header, queryParams, redirect, requestPath, send, type Middleware } from './http.js'
import { regenerateSession, requireSession, saveSession, type FapiSession } from './session.js'

/** What the app's handler receives after every check passed. */
export interface LoginResult {
  /** The validated ID token claims. */
  readonly claims: IdTokenClaims
  /** The tokens from the token endpoint. Keep them server-side. */
  readonly tokens: TokenSet
  /** Where the user wanted to go: a path on this site or a URL on an allowed origin. */
  readonly returnTo: string
}

/**
 * The app's code that runs after a successful login. Annotate `req` and `res` with your
 * framework's types (e.g. Express's `Request` and `Response`) to use its helpers.
 */
export type LoginHandler<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
> = (req: Req, res: Res, result: LoginResult) => void | Promise<void>

/** The callback request as the core reads it. */
function callbackRequest(req: IncomingMessage): CallbackRequest {
  return {
    method: req.method ?? 'GET',
    path: requestPath(req),
    query: queryParams(req),
    header: (name) => header(req, name),
    readBody: (limit) => readFormBody(req, limit),
  }
}

/** The session's pending logins; `take` removes one and saves the session at once. */
function pendingLogins(session: FapiSession): PendingLogins {
  const entries = () => session.fapi?.transactions
  return {
    has(state) {
      const transactions = entries()
      return transactions !== undefined && Object.hasOwn(transactions, state)
    },
    async take(state) {
      const transactions = entries()
      if (transactions === undefined || !Object.hasOwn(transactions, state)) return undefined
      const { [state]: taken, ...rest } = transactions
      session.fapi = { ...session.fapi, transactions: rest }
      await saveSession(session)
      return taken
    },
  }
}

/** Replaces the session with a new one (new id: no fixation) that holds the login. */
async function establishSession(req: IncomingMessage, login: SessionLogin): Promise<void> {
  // Other tabs' pending logins survive the new session id.
  const pending = requireSession(req).fapi?.transactions
  const session = await regenerateSession(req)
  session.fapi = pending === undefined ? { login } : { transactions: pending, login }
  await saveSession(session)
}

/** The callback middleware factory. Internal: reached through `fapiClient().callback()`. */
export function createCallback<Req extends IncomingMessage, Res extends ServerResponse>(
  core: FapiCore,
  handler?: LoginHandler<Req, Res>,
): Middleware<Req, Res> {
  return function fapiCallback(req, res, next) {
    Promise.resolve()
      .then(async () => {
        const session = requireSession(req)
        const outcome = await core.handleCallback(callbackRequest(req), pendingLogins(session))
        if (outcome.kind === 'page') {
          send(req, res, outcome.page.status, outcome.page.headers, outcome.page.body)
          return undefined
        }
        await establishSession(req, outcome.login)
        return { claims: outcome.claims, tokens: outcome.tokens, returnTo: outcome.returnTo }
      })
      .then(
        (result) => {
          if (result === undefined) return
          res.setHeader('Cache-Control', 'no-store')
          if (handler === undefined) {
            redirect(req, res, result.returnTo)
            return
          }
          // The app's own errors reach its error handler untouched.
          Promise.resolve()
            .then(() => handler(req, res, result))
            .catch(next)
        },
        (error: unknown) => next(toFapiError(error)),
      )
  }
}
