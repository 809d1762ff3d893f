/**
 * The login route: a validated `returnTo`, a new transaction (with the login's DPoP key, when
 * tokens are DPoP-bound) saved in the session, then a 303 to the authorization endpoint with the
 * request pushed (PAR) or, by value, in the URL.
 *
 * @module
 */
import type { Request, RequestHandler, Response } from 'express'
import { isSafeRelativePath, type Config } from '../config/index.js'
import { startAuthorization, type ClientContext } from '../core/flows/login.js'
import { addTransaction } from '../core/flows/transaction.js'
import { FapiError } from '../errors.js'
import { queryParams, toFapiError } from './request.js'
import { requireSession, saveSession } from './session.js'

function invalidReturnTo(): FapiError {
  return new FapiError(
    'ERR_INVALID_RETURN_TO',
    400,
    '"returnTo" must be one path on this site (or a URL of an allowed origin)',
  )
}

/**
 * Where to go after login: `?returnTo=` when it is a path on this site or a URL on an allowed
 * origin, never anything else (no open redirector: RFC 9700 §4.11, FAPI 2.0 §5.3.3.1 (4)).
 */
export function returnToOf(req: Request, config: Config): string {
  const values = queryParams(req).getAll('returnTo')
  if (values.length === 0) return config.defaultReturnTo
  const value = values[0]
  if (values.length > 1 || value === undefined) throw invalidReturnTo()
  if (isSafeRelativePath(value)) return value
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalidReturnTo()
  }
  if (
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    config.returnToOrigins.includes(url.origin)
  ) {
    return url.href
  }
  throw invalidReturnTo()
}

async function login(context: ClientContext, req: Request, res: Response): Promise<void> {
  const { config } = context
  const session = requireSession(req)
  const returnTo = returnToOf(req, config)
  const started = await startAuthorization(context, returnTo)
  const fapi = session.fapi ?? {}
  fapi.transactions = addTransaction(fapi.transactions, started.transaction, {
    max: config.maxPendingLogins,
    maxAgeMs: config.pendingLoginMaxAge * 1000,
    now: config.now(),
  })
  session.fapi = fapi
  // The transaction must be stored before the browser leaves (STYLE 7).
  await saveSession(session)
  res.set('Cache-Control', 'no-store')
  res.redirect(303, started.authorizationUrl)
}

/** The login middleware factory. Internal: reached through `fapiClient().login()`. */
export function createLogin(context: ClientContext): RequestHandler {
  return function fapiLogin(req, res, next) {
    login(context, req, res).catch((error: unknown) => next(toFapiError(error)))
  }
}
