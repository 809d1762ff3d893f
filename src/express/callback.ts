/**
 * The callback route, in the order of DESIGN.md: only the requested response mode is accepted (a
 * plain `?code=` where JARM was requested is a downgrade); the response is verified before anything
 * in it is used (a JARM JWT, decrypted first if it is a JWE; or, in plain `query` mode, its RFC 9207
 * `iss`); a response that came without the session cookie (`form_post.jwt`) or in the fragment
 * (`fragment.jwt`) is relayed once by a same-origin page; the transaction for its `state` is taken
 * (read, deleted, saved: single use) before the code is redeemed (with the login's DPoP key or the
 * client certificate); the ID token is validated; the session is regenerated and the login (with
 * its DPoP key) stored; only then is the app's handler called.
 *
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Config } from '../config/index.js'
import {
  completeAuthorization,
  verifyAuthorizationResponse,
  verifyPlainResponse,
  type CompletedLogin,
} from '../core/flows/callback.js'
import type { ClientContext } from '../core/flows/login.js'
import type { IdTokenClaims } from '../core/jwt/id-token.js'
import type { TokenSet } from '../core/server/token.js'
import { isTransaction, type Transaction } from '../core/flows/transaction.js'
import { AuthorizationResponseError, SessionError } from '../errors.js'
import { readDelivery } from '../core/flows/delivery.js'
import { needsFormPostRelay, sendFormPostRelay, sendFragmentRelay } from './relay.js'
import { requestPath, toFapiError } from './request.js'
import { regenerateSession, requireSession, saveSession, type StoredLogin } from './session.js'

/** What the app's handler receives after every check passed. */
export interface LoginResult {
  /** The validated ID token claims. */
  readonly claims: IdTokenClaims
  /** The tokens from the token endpoint. Keep them server-side. */
  readonly tokens: TokenSet
  /** Where the user wanted to go: a path on this site or a URL on an allowed origin. */
  readonly returnTo: string
}

/** The app's code that runs after a successful login. */
export type LoginHandler = (
  req: Request,
  res: Response,
  result: LoginResult,
) => void | Promise<void>

function mismatch(message: string): AuthorizationResponseError {
  return new AuthorizationResponseError('ERR_RESPONSE_MODE_MISMATCH', 400, message)
}

/**
 * Takes the transaction of `state` out of the session and saves the session before anything else
 * happens, so that a response can be used once only (also when the token request then fails).
 */
async function takeTransaction(
  req: Request,
  state: string,
  context: ClientContext,
): Promise<Transaction> {
  const { config } = context
  const session = requireSession(req)
  const transactions = session.fapi?.transactions
  const found: unknown =
    transactions !== undefined && Object.hasOwn(transactions, state)
      ? transactions[state]
      : undefined
  const notFound = () =>
    new SessionError(
      'ERR_TRANSACTION_NOT_FOUND',
      400,
      'no pending login in this session matches the response "state" (used already, or started in another browser)',
    )
  if (found === undefined || transactions === undefined) throw notFound()
  const { [state]: _taken, ...rest } = transactions
  void _taken
  ;(session.fapi ??= {}).transactions = rest
  await saveSession(session)
  // The session is a copy per request: a parallel delivery of the same response is stopped here.
  if (!context.consumed.claim(state, config.now())) throw notFound()
  if (
    !isTransaction(found) ||
    found.issuer !== config.issuer ||
    found.clientId !== config.clientId ||
    found.redirectUri !== config.redirectUri
  ) {
    throw notFound()
  }
  if (found.responseMode !== config.responseMode) {
    throw mismatch('the response arrived in another mode than the one requested')
  }
  if (config.now() - found.createdAt > config.pendingLoginMaxAge * 1000) {
    throw new SessionError(
      'ERR_TRANSACTION_EXPIRED',
      400,
      'the pending login is older than pendingLoginMaxAge',
    )
  }
  return found
}

/** Replaces the session with a new one (new id: no fixation) that holds the login. */
async function establishSession(
  req: Request,
  login: CompletedLogin,
  transaction: Transaction,
  config: Config,
): Promise<void> {
  const pending = requireSession(req).fapi?.transactions
  const session = await regenerateSession(req)
  const stored: StoredLogin = {
    issuer: config.issuer,
    clientId: config.clientId,
    claims: { ...login.claims },
    ...(transaction.dpopKey === undefined ? {} : { dpopKey: transaction.dpopKey }),
    tokens: {
      accessToken: login.tokens.accessToken,
      tokenType: login.tokens.tokenType,
      idToken: login.tokens.idToken,
      scope: login.tokens.scope,
      ...(login.tokens.refreshToken === undefined
        ? {}
        : { refreshToken: login.tokens.refreshToken }),
      ...(login.tokens.expiresAt === undefined ? {} : { expiresAt: login.tokens.expiresAt }),
    },
    loggedInAt: config.now(),
  }
  // Other tabs' pending logins survive the new session id.
  session.fapi =
    pending === undefined ? { login: stored } : { transactions: pending, login: stored }
  await saveSession(session)
}

/** A login, or `relayed` when a relay page was sent instead (the login continues from it). */
async function callback(
  context: ClientContext,
  req: Request,
  res: Response,
): Promise<LoginResult | 'relayed'> {
  const { config } = context
  const session = requireSession(req)
  // FAPI 1.0 Baseline §5.2.3 (4): the response arrives at the redirect URI it was requested for.
  if (requestPath(req) !== config.redirectPath) {
    throw new AuthorizationResponseError(
      'ERR_REDIRECT_URI_MISMATCH',
      400,
      `the callback is mounted at another path than redirectUri's "${config.redirectPath}"`,
    )
  }
  const delivery = await readDelivery(req, config)
  if (delivery.kind === 'fragment') {
    sendFragmentRelay(res, config)
    return 'relayed'
  }
  // Verified before it is relayed: the relay page only ever repeats what the server signed.
  const verified =
    delivery.kind === 'plain'
      ? await verifyPlainResponse(context, delivery.params)
      : await verifyAuthorizationResponse(context, delivery.response)
  if (
    delivery.kind === 'response' &&
    config.responseMode === 'form_post.jwt' &&
    needsFormPostRelay(req, delivery.relayed, session.fapi?.transactions, verified.response.state)
  ) {
    sendFormPostRelay(res, config, delivery.response)
    return 'relayed'
  }
  const transaction = await takeTransaction(req, verified.response.state, context)
  const login = await completeAuthorization(
    context,
    verified.metadata,
    verified.response,
    transaction,
  )
  await establishSession(req, login, transaction, config)
  return { claims: login.claims, tokens: login.tokens, returnTo: transaction.returnTo }
}

/** The callback middleware factory. Internal: reached through `fapiClient().callback()`. */
export function createCallback(context: ClientContext, handler?: LoginHandler): RequestHandler {
  return function fapiCallback(req: Request, res: Response, next: NextFunction) {
    callback(context, req, res).then(
      (result) => {
        if (result === 'relayed') return
        res.set('Cache-Control', 'no-store')
        if (handler === undefined) {
          res.redirect(303, result.returnTo)
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
