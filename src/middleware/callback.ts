/**
 * The callback route: the request read into plain data, handed to the core with the session's
 * pending logins (the one taken is gone from the store before the code is redeemed: the session
 * is regenerated then, new id and no fixation); a relay page is sent as it is; a finished login is
 * stored in the new session, and only then is the app's handler called.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { PendingLogins } from '../core/flows/callback.js'
import type { CallbackRequest } from '../core/flows/delivery.js'
import type { IdTokenClaims } from '../core/jwt/id-token.js'
import type { TokenSet } from '../core/server/token.js'
import type { AuthorizationDetail } from '../core/server/authorization-details.js'
import { FapiError, printable, toFapiError } from '../errors.js'
import { forwardError } from './error-handler.js'
import { keepOwnedGrants, ownerOfLogin, principalOf } from './owner.js'
import { readFormBody } from './form-body.js'
import { header, queryParams, redirect, requestPath, send, type Middleware } from './http.js'
import {
  partOf,
  regenerateWithPart,
  requireSession,
  saveSession,
  setPart,
  type FapiSession,
} from './session.js'

/** What the app's handler receives after every check passed. */
export interface LoginResult {
  /** The validated ID token claims. */
  readonly claims: IdTokenClaims
  /** The tokens from the token endpoint. Keep them server-side. */
  readonly tokens: TokenSet
  /** Where the user wanted to go: a path on this site or a URL on an allowed origin. */
  readonly returnTo: string
  /** The id of this login in `onEvent` events, when the client has an `onEvent` listener. */
  readonly traceId?: string
  /**
   * The server's name in `fapiClients()` (the bank this login completed at), whatever the
   * callback's path; `undefined` for a single `fapiClient()`.
   */
  readonly server?: string
  /** What the server granted (RFC 9396 §7), also kept with the grant. */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
  /**
   * The id of this login's grant in the grant store: keep it with your own user record to call
   * the bank later without a browser (`auth.grant(grantId)`).
   */
  readonly grantId: string
}

/**
 * What `beforeSession` decides: accept (`undefined` or `true`), refuse (`false`, or
 * `{ refuse: reason }`: the reason becomes the message of `ERR_LOGIN_REFUSED`, so write it for
 * the user), or accept with trimmed claims (`{ claims }`: only the claims to keep in the session;
 * the protocol claims are always kept, and no claim can be added or changed).
 */
export type BeforeSessionDecision =
  | undefined
  | boolean
  | { readonly refuse: string }
  | { readonly claims: Readonly<Record<string, unknown>> }

/** The hooks of the callback. */
export interface CallbackOptions<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
> {
  /**
   * Runs after every protocol check passed and before `session.regenerate()`: the login does
   * not exist yet. Refusing ends the request with `ERR_LOGIN_REFUSED` (403): no session, no
   * `onLogin`. An exception it throws reaches the app's error handler, with no session either.
   */
  readonly beforeSession?: (
    req: Req,
    login: LoginResult,
  ) => BeforeSessionDecision | Promise<BeforeSessionDecision>
  /** Runs after the new session holds the login (as `callback(handler)`'s handler). */
  readonly onLogin?: LoginHandler<Req, Res>
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
/** Form bodies already read, by request: an app with several servers reads a callback twice. */
const bodies = new WeakMap<IncomingMessage, ReturnType<typeof readFormBody>>()

/** The callback request as plain data; its body is read once, however often it is asked for. */
export function callbackRequest(req: IncomingMessage): CallbackRequest {
  return {
    method: req.method ?? 'GET',
    path: requestPath(req),
    query: queryParams(req),
    header: (name) => header(req, name),
    readBody: (limit) => {
      let body = bodies.get(req)
      if (body === undefined) {
        body = readFormBody(req, limit)
        bodies.set(req, body)
      }
      return body
    },
  }
}

/**
 * The session's pending logins. `take` makes the response single-use in one store round trip: it
 * regenerates the session (the store destroys the old one, and the response's pending login with
 * it) before the code is redeemed; the new session holds the other tabs' pending logins and the
 * other clients' parts, and is saved with the login.
 */
function pendingLogins(req: IncomingMessage, session: FapiSession, key: string): PendingLogins {
  const entries = () => partOf(session, key)?.transactions
  return {
    has(state) {
      const transactions = entries()
      return transactions !== undefined && Object.hasOwn(transactions, state)
    },
    async take(state) {
      const transactions = entries()
      if (transactions === undefined || !Object.hasOwn(transactions, state)) return undefined
      const { [state]: taken, ...rest } = transactions
      // Only a session with something in it is stored (and sent as a cookie) if the login fails.
      await regenerateWithPart(req, key, () =>
        Object.keys(rest).length > 0 ? { transactions: rest } : undefined,
      )
      return taken
    },
  }
}

/** Refers to the grant from the session `take` regenerated (new id: no fixation). */
async function establishSession(req: IncomingMessage, key: string, grantId: string): Promise<void> {
  const session = requireSession(req)
  setPart(session, key, { ...partOf(session, key), grant: grantId })
  await saveSession(session)
}

function refused(reason: string | undefined): FapiError {
  return new FapiError(
    'ERR_LOGIN_REFUSED',
    reason === undefined || reason === '' ? 'this login is not allowed here' : printable(reason),
  )
}

/** The hooks, from `callback(handler)` or `callback({ beforeSession, onLogin })`. */
function hooksOf<Req extends IncomingMessage, Res extends ServerResponse>(
  hooks: LoginHandler<Req, Res> | CallbackOptions<Req, Res> | undefined,
): CallbackOptions<Req, Res> {
  if (typeof hooks === 'function') return { onLogin: hooks }
  return hooks ?? {}
}

/** The callback middleware factory. Internal: reached through `fapiClient().callback()`. */
export function createCallback<Req extends IncomingMessage, Res extends ServerResponse>(
  core: FapiCore,
  handlerOrHooks?: LoginHandler<Req, Res> | CallbackOptions<Req, Res>,
): Middleware<Req, Res> {
  const { beforeSession, onLogin } = hooksOf(handlerOrHooks)
  const key = core.sessionKey
  return function fapiCallback(req, res, next) {
    Promise.resolve()
      .then(async () => {
        const session = requireSession(req)
        const principal = principalOf(core, req)
        const outcome = await core.handleCallback(
          callbackRequest(req),
          pendingLogins(req, session, key),
        )
        if (outcome.kind === 'page') {
          send(req, res, outcome.page.status, outcome.page.headers, outcome.page.body)
          return undefined
        }
        let grant = outcome.grant
        let result: Omit<LoginResult, 'grantId'> = {
          claims: outcome.claims,
          tokens: outcome.tokens,
          returnTo: outcome.returnTo,
          ...(outcome.traceId === undefined ? {} : { traceId: outcome.traceId }),
          ...(outcome.server === undefined ? {} : { server: outcome.server }),
          ...(outcome.tokens.authorizationDetails === undefined
            ? {}
            : { authorizationDetails: outcome.tokens.authorizationDetails }),
        }
        if (beforeSession !== undefined) {
          let decision: BeforeSessionDecision
          try {
            decision = await beforeSession(req, { ...result, grantId: grant.id })
          } catch (error) {
            // The app's own error, untouched; no session.
            return { appError: error }
          }
          if (decision === false) throw refused(undefined)
          if (typeof decision === 'object' && decision !== null) {
            if ('refuse' in decision) throw refused(decision.refuse)
            if ('claims' in decision) {
              grant = core.trimGrant(grant, decision.claims)
              result = { ...result, claims: grant.claims as LoginResult['claims'] }
            }
          }
        }
        let owner: string
        try {
          owner = await ownerOfLogin(core, req, grant, principal)
        } catch (error) {
          // A refused link: what the server issued is revoked at once (RFC 7009).
          await core
            .saveGrant(grant)
            .then(() => core.endGrant(grant.id))
            .catch(() => undefined)
          throw error
        }
        await core.saveGrant(grant, owner)
        await keepOwnedGrants(req, requireSession(req), key, owner)
        await establishSession(req, key, grant.id)
        return { result: { ...result, grantId: grant.id } }
      })
      .then(
        (done) => {
          if (done === undefined) return
          if ('appError' in done) {
            next(done.appError)
            return
          }
          const { result } = done
          res.setHeader('Cache-Control', 'no-store')
          if (onLogin === undefined) {
            redirect(req, res, result.returnTo)
            return
          }
          // The app's own errors reach its error handler untouched.
          Promise.resolve()
            .then(() => onLogin(req, res, result))
            .catch(next)
        },
        (error: unknown) => forwardError(res, next, toFapiError(error)),
      )
  }
}
