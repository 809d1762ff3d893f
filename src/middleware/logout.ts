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
import { FapiError, toFapiError } from '../errors.js'
import { grantIdOf } from './grants.js'
import { redirect, type Middleware } from './http.js'
import {
  destroySession,
  keyResolverOf,
  registeredClients,
  requireSession,
  type FapiSession,
} from './session.js'

/** What ending the session's other grants left undone. */
interface OtherGrants {
  /** The issuers of grants the grant store could not end. */
  readonly unended: string[]
  /** The names of banks resolved on demand that could not be created to end their grants. */
  readonly uncreated: string[]
}

/**
 * Ends the grants of every other server the session refers to (their failures do not stop it).
 * A grant of a bank resolved on demand that has no client in this process (evicted, or created on
 * another instance) is ended by its bank created again, like any other.
 */
async function endOtherGrants(core: FapiCore, session: FapiSession): Promise<OtherGrants> {
  const done: OtherGrants = { unended: [], uncreated: [] }
  const ends: Promise<unknown>[] = []
  const end = (other: FapiCore, id: string) =>
    other.endGrant(id).catch(() => done.unended.push(other.issuer))
  const registered = registeredClients()
  for (const [key, cores] of registered) {
    const id = grantIdOf(session, key)
    if (id === undefined) continue
    // A grant id is this key's client's; another client (of another app) does not find it.
    for (const other of cores) if (other !== core) ends.push(end(other, id))
  }
  const resolver = keyResolverOf(core)
  if (resolver !== undefined) {
    for (const key of Object.keys(session)) {
      const id = grantIdOf(session, key)
      const bank = id === undefined ? undefined : resolver(key)
      // A bank in the cache is registered: its grant is being ended above.
      if (id === undefined || bank === undefined || bank.cached !== undefined) continue
      ends.push(
        bank.create().then(
          (other) => end(other, id),
          () => done.uncreated.push(bank.name),
        ),
      )
    }
  }
  await Promise.all(ends)
  return done
}

/**
 * A logout that ended the session but left grants of banks that could not be created active.
 */
function banksNotCreated(names: readonly string[]): FapiError {
  return new FapiError(
    'ERR_LOGOUT_INCOMPLETE',
    `logout: the session ended, but the grants it held at ${names.map((name) => `"${name}"`).join(', ')} stay active and their tokens unrevoked: those banks could not be created (check the resolver and that the banks answer), then end the user's grants there (findGrants() by owner, then grant(id).end())`,
  )
}

/** The logout middleware factory. Internal: reached through `fapiClient().logout()`. */
export function createLogout(core: FapiCore): Middleware {
  return function fapiLogout(req, res, next) {
    Promise.resolve()
      .then(async () => {
        const session = requireSession(req)
        const { unended, uncreated } = await endOtherGrants(core, session)
        const target = await core.logout(
          grantIdOf(session, core.sessionKey),
          () => destroySession(session),
          unended,
        )
        // A logout never reports success while a grant is usable.
        if (uncreated.length > 0) throw banksNotCreated(uncreated)
        redirect(req, res, target)
      })
      .catch((error: unknown) => next(toFapiError(error)))
  }
}
