/**
 * Where the browser goes after the local session ended: the server's `end_session_endpoint`
 * (OpenID Connect RP-Initiated Logout 1.0 §2) with `id_token_hint`, `client_id` and
 * `post_logout_redirect_uri`, or, when the server has none (or cannot be reached, or nobody was
 * logged in), `postLogoutRedirectUri` or `/`.
 *
 * @module
 */
import type { ClientContext } from './context.js'

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
