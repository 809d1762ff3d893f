/**
 * Token revocation at logout (RFC 7009 §2.1): when the server has a `revocation_endpoint`, the
 * login's refresh token, then its access token, are revoked with the client's authentication
 * before the local session ends. A failure is logged and never keeps the user logged in: the
 * caller ends the session whatever happens here.
 *
 * @module
 */
import {
  addClientAuthentication,
  clientAuthenticationHeaders,
  usesClientCertificate,
} from '../server/client-auth.js'
import { sendRequest } from '../transport/http.js'
import { failureOf, log } from '../log.js'
import type { ClientContext } from './context.js'
import type { ActiveGrant } from '../grants/record.js'

/** What was revoked, for logs and tests: each token's outcome. */
export type RevocationOutcome = 'revoked' | 'failed' | 'no-endpoint' | 'no-login'

/** Revokes one token (RFC 7009 §2.1): a 200 answers for unknown tokens too. */
async function revokeOne(
  context: ClientContext,
  endpoint: string,
  signingKey: Parameters<typeof addClientAuthentication>[2],
  token: string,
  hint: 'refresh_token' | 'access_token',
): Promise<boolean> {
  const { config } = context
  const form = await addClientAuthentication(
    new URLSearchParams({ token, token_type_hint: hint }),
    config,
    signingKey,
    endpoint,
  )
  const response = await sendRequest(
    endpoint,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...clientAuthenticationHeaders(form),
      },
      body: form.toString(),
      ...(usesClientCertificate(config.clientAuthMethod) ? { clientCertificate: true } : {}),
    },
    config,
    'revocation',
  )
  return response.status === 200
}

/**
 * Revokes a login's refresh token and access token where the server offers revocation. Never
 * rejects; resolves with the outcome (refresh token first: revoking it should also end its
 * access tokens, RFC 7009 §2.1).
 */
export async function revokeLogin(
  context: ClientContext,
  login: ActiveGrant | undefined,
): Promise<RevocationOutcome> {
  if (login === undefined) return 'no-login'
  try {
    const metadata = await context.discovery.get()
    const endpoint = metadata.revocationEndpoint
    if (endpoint === undefined) return 'no-endpoint'
    const { refreshToken, accessToken } = login.tokens
    let ok = true
    if (typeof refreshToken === 'string' && refreshToken !== '') {
      ok =
        (await revokeOne(context, endpoint, metadata.signingKey, refreshToken, 'refresh_token')) &&
        ok
    }
    ok =
      (await revokeOne(context, endpoint, metadata.signingKey, accessToken, 'access_token')) && ok
    log.token('tokens %s at logout', ok ? 'revoked' : 'not all revoked (the server refused)')
    return ok ? 'revoked' : 'failed'
  } catch (error) {
    log.token('revocation at logout failed: %s', failureOf(error))
    return 'failed'
  }
}
