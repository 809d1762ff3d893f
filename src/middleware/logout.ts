/**
 * `logout()`: ends every grant the session refers to (each server's, each with its revocation,
 * RFC 7009) in the grant store, so that every instance sees it at once, then destroys the local
 * session, then sends the browser where the core says: this client's server's
 * `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0 §2), or `postLogoutRedirectUri`
 * (or `/`).
 *
 * @module
 */
import type { FapiCore } from '../core/client.js'
import { toFapiError } from '../errors.js'
import { grantIdOf } from './grants.js'
import { redirect, type Middleware } from './http.js'
import { destroySession, registeredClients, requireSession, type FapiSession } from './session.js'

/** Ends the grants of every other server the session refers to (their failures do not stop it). */
async function endOtherGrants(core: FapiCore, session: FapiSession): Promise<void> {
  const ends: Promise<unknown>[] = []
  for (const [key, cores] of registeredClients()) {
    const id = grantIdOf(session, key)
    if (id === undefined) continue
    // A grant id is this key's client's; another client (of another app) does not find it.
    for (const other of cores) {
      if (other !== core) ends.push(other.endGrant(id).catch(() => undefined))
    }
  }
  await Promise.all(ends)
}

/** The logout middleware factory. Internal: reached through `fapiClient().logout()`. */
export function createLogout(core: FapiCore): Middleware {
  return function fapiLogout(req, res, next) {
    Promise.resolve()
      .then(async () => {
        const session = requireSession(req)
        await endOtherGrants(core, session)
        const target = await core.logout(grantIdOf(session, core.sessionKey), () =>
          destroySession(session),
        )
        redirect(req, res, target)
      })
      .catch((error: unknown) => next(toFapiError(error)))
  }
}
