/**
 * Where the browser goes after the local session ended: the server's `end_session_endpoint`
 * (OpenID Connect RP-Initiated Logout 1.0 §2) with `id_token_hint`, `client_id` and
 * `post_logout_redirect_uri`, or, when the server has none (or cannot be reached, or nobody was
 * logged in), `postLogoutRedirectUri` or `/`.
 *
 * @module
 */
import { CoordinationError } from '../../errors.js'
import type { ClientContext } from './context.js'
import { log } from '../log.js'

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

/**
 * A logout that ended the session but left grants active (the grant store could not be used):
 * `ERR_GRANT_STORE_UNAVAILABLE` (503) for the caller to throw, naming the servers and what to
 * check. Silence would tell the app that the user's access at the bank is gone while it is not.
 */
export function logoutIncomplete(issuers: readonly string[]): CoordinationError {
  const distinct = [...new Set(issuers)]
  log.token(
    'logout incomplete: %d grant(s) left active, the grant store could not be used',
    issuers.length,
  )
  return new CoordinationError(
    'ERR_GRANT_STORE_UNAVAILABLE',
    `logout: the session ended, but the grant store could not be used to end ${String(issuers.length)} grant(s) (at ${distinct.join(', ')}): they stay active and their tokens unrevoked until ended; check the grant store (reachable, answering within its commandTimeout), then end the user's grants (findGrants() by owner, then grant(id).end())`,
  )
}
