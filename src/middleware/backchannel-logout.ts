/**
 * The back-channel logout route (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8): a POST with
 * a form body holding one `logout_token`; the token's `iss` picks the server (among this app's)
 * whose core checks it and ends the grants it names. Answers 200 (`Cache-Control: no-store`), or
 * the error's status (400 for a refused token) with `{ error: code, message }`: a server, not a
 * browser, reads it.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import { claimedIssuer } from '../core/flows/backchannel-logout.js'
import { FapiError, toFapiError } from '../errors.js'
import { readFormBody } from './form-body.js'
import { sendJson, type Middleware } from './http.js'

/** The largest form body read (bytes): one logout token. */
const MAX_BODY = 32_768

function missing(): FapiError {
  return new FapiError(
    'ERR_LOGOUT_TOKEN_MISSING',
    'back-channel logout: the form body must hold exactly one "logout_token"',
  )
}

/**
 * The back-channel logout middleware of one server or several (the token's `iss` picks one).
 * `prepare` runs first (with banks resolved on demand: create the bank the request names), its
 * failure answered like a refused token; `cores` is read after it.
 */
export function createBackchannelLogout(
  cores: readonly FapiCore[] | (() => readonly FapiCore[]),
  prepare?: (req: IncomingMessage) => Promise<void>,
): Middleware {
  return function fapiBackchannelLogout(req, res) {
    Promise.resolve()
      .then(async () => {
        await prepare?.(req)
        const form = await readFormBody(req, MAX_BODY).catch(() => Promise.reject(missing()))
        const tokens = form.getAll('logout_token')
        const [token] = tokens
        if (tokens.length !== 1 || token === undefined || token === '') throw missing()
        const issuer = claimedIssuer(token)
        if (issuer === undefined) {
          throw new FapiError(
            'ERR_LOGOUT_TOKEN_MALFORMED',
            'logout token: not a compact JWS with "iss"',
          )
        }
        const core = (typeof cores === 'function' ? cores() : cores).find(
          (candidate) => candidate.issuer === issuer,
        )
        if (core === undefined) {
          throw new FapiError(
            'ERR_LOGOUT_TOKEN_ISS_MISMATCH',
            'logout token: its "iss" is not a server of this app',
          )
        }
        await core.backchannelLogout(token)
        res.writeHead(200, { 'Cache-Control': 'no-store' }).end()
      })
      .catch((error: unknown) => {
        const failure = toFapiError(error)
        sendJson(
          req,
          res,
          failure.status,
          { error: failure.code, message: failure.message },
          { 'Cache-Control': 'no-store' },
        )
      })
  }
}
