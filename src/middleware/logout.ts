/**
 * `logout()`: ends every grant the session refers to (each server's, each with its revocation,
 * RFC 7009) in the grant store, so that every instance sees it at once, then destroys the local
 * session, then sends the browser where the core says: this client's server's
 * `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0 §2), or `postLogoutRedirectUri`
 * (or `/`). With the grant store down, the session still ends, then the logout fails with
 * `ERR_GRANT_STORE_UNAVAILABLE` (503), to the app's error handler: the grants stay active
 * until ended, and the app must not tell the user their bank access is gone.
 *
 * @module
 */
import type { FapiCore } from '../core/client.js'
import { toFapiError } from '../errors.js'
import { grantIdOf } from './grants.js'
import { redirect, type Middleware } from './http.js'
import { destroySession, registeredClients, requireSession, type FapiSession } from './session.js'

/**
 * Ends the grants of every other server the session refers to (their failures do not stop it);
 * resolves with the issuer of each grant the grant store could not end.
 */
async function endOtherGrants(core: FapiCore, session: FapiSession): Promise<string[]> {
  const unended: string[] = []
  const ends: Promise<unknown>[] = []
  for (const [key, cores] of registeredClients()) {
    const id = grantIdOf(session, key)
    if (id === undefined) continue
    // A grant id is this key's client's; another client (of another app) does not find it.
    for (const other of cores) {
      if (other !== core) ends.push(other.endGrant(id).catch(() => unended.push(other.issuer)))
    }
  }
  await Promise.all(ends)
  return unended
}

/** The logout middleware factory. Internal: reached through `fapiClient().logout()`. */
export function createLogout(core: FapiCore): Middleware {
  return function fapiLogout(req, res, next) {
    Promise.resolve()
      .then(async () => {
        const session = requireSession(req)
        const unended = await endOtherGrants(core, session)
        const target = await core.logout(
          grantIdOf(session, core.sessionKey),
          () => destroySession(session),
          unended,
        )
        redirect(req, res, target)
      })
      .catch((error: unknown) => next(toFapiError(error)))
  }
}
