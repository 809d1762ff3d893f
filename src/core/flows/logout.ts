/**
 * Where the browser goes after the local session ended: the server's `end_session_endpoint`
 * (OpenID Connect RP-Initiated Logout 1.0 §2) with `id_token_hint`, `client_id` and
 * `post_logout_redirect_uri`, or, when the server has none (or cannot be reached, or nobody was
 * logged in), `postLogoutRedirectUri` or `/`.
 *
 * @module
 */
import { CoordinationError } from '../../errors.js'
import { withLock } from '../coordination/single-flight.js'
import { keyOf } from '../coordination/store.js'
import type { ClientContext } from './context.js'
import { ENDED_TTL } from './refresh.js'
import { loginIdOf, loginRequired, type SessionLogin } from './stored-login.js'

/** The lock held while a login's record is saved after a refresh, or the login ended. */
function loginLock(context: ClientContext) {
  return { lockMs: 10_000, waitMs: context.config.httpTimeout + 10_000 }
}

/**
 * Saves a refreshed login record (`save`), unless the login was logged out meanwhile, on any
 * instance: then `ERR_LOGIN_REQUIRED`, and nothing is saved (a refresh in flight during a
 * logout must not bring the session back).
 */
export async function commitLogin(
  context: ClientContext,
  login: SessionLogin,
  save: () => Promise<void>,
): Promise<void> {
  const id = loginIdOf(login)
  await withLock(context.coordination, keyOf('login', id), loginLock(context), async () => {
    if ((await context.coordination.get(keyOf('ended', id))) !== undefined) throw loginRequired()
    await save()
  })
}

/**
 * Ends a login: remembers that it ended (so refreshes in flight on any instance do not save it
 * back), then `destroy`s the session. When the coordination store is down, the session is still
 * destroyed: a logout never fails toward staying logged in.
 */
export async function endLogin(
  context: ClientContext,
  login: SessionLogin | undefined,
  destroy: () => Promise<void>,
): Promise<void> {
  if (login === undefined) return destroy()
  const id = loginIdOf(login)
  try {
    await withLock(context.coordination, keyOf('login', id), loginLock(context), async () => {
      await context.coordination.set(keyOf('ended', id), '1', ENDED_TTL)
      await destroy()
    })
  } catch (error) {
    if (!(error instanceof CoordinationError)) throw error
    await destroy()
  }
}

/**
 * The logout target. Never rejects: the local logout has happened by then and must not fail
 * because of the server.
 */
export async function logoutTarget(
  context: ClientContext,
  idToken: string | undefined,
): Promise<string> {
  const { config } = context
  const local = config.postLogoutRedirectUri ?? '/'
  if (idToken === undefined) return local
  let endpoint: string | undefined
  try {
    endpoint = (await context.discovery.get()).endSessionEndpoint
  } catch {
    return local
  }
  if (endpoint === undefined) return local
  const url = new URL(endpoint)
  url.searchParams.set('id_token_hint', idToken)
  url.searchParams.set('client_id', config.clientId)
  if (config.postLogoutRedirectUri !== undefined) {
    url.searchParams.set('post_logout_redirect_uri', config.postLogoutRedirectUri)
  }
  return url.href
}
