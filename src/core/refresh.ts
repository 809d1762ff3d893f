/**
 * Refreshing a login (FAPI 2.0 §5.3.3.1 (6), RFC 6749 §6) as a plain async function over plain
 * data: the refresh grant with the same client authentication as the code exchange (a fresh
 * assertion, or the client certificate at the mTLS alias), a DPoP proof with the login's key when
 * its tokens are DPoP-bound, the token response checked as at login, a new ID token validated
 * against the original (OIDC Core §12.2), and a rotated refresh token replacing the old one.
 *
 * @module
 */
import { addClientAuthentication } from './client-auth.js'
import type { DpopKey } from './dpop.js'
import { serverJwtContext, tokenEndpointOptions, type ClientContext } from './flow.js'
import { signedIdToken, validateRefreshedIdToken } from './id-token.js'
import { requestRefresh, type TokenSet } from './token.js'

/** What a refresh needs of a stored login. */
export interface RefreshableLogin {
  readonly refreshToken: string
  /** Present exactly when the login's tokens are DPoP-bound. */
  readonly dpopKey: DpopKey | undefined
  /** The current signed ID token, kept when the server sends no new one. */
  readonly idToken: string
  /** The claims of the original ID token. */
  readonly claims: Readonly<Record<string, unknown>>
  /** The login's scope: the granted scope when the server does not repeat it. */
  readonly scope: string
}

/** A refreshed login: the tokens to keep and the claims to keep. */
export interface RefreshedLogin {
  readonly claims: Readonly<Record<string, unknown>>
  readonly tokens: TokenSet
}

/**
 * Refreshes a login's tokens. A new `refresh_token` replaces the old one (rotation); without one
 * the old one is kept. A new `id_token` replaces the claims once it is valid and names the same
 * user; without one the claims are kept.
 */
export async function refreshLogin(
  context: ClientContext,
  login: RefreshableLogin,
): Promise<RefreshedLogin> {
  const { config } = context
  const metadata = await context.discovery.get()
  const tokens = await requestRefresh(
    metadata.tokenEndpoint,
    () =>
      addClientAuthentication(
        new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.refreshToken }),
        config,
        metadata.signingKey,
        metadata.tokenEndpoint,
      ),
    tokenEndpointOptions(context, login.dpopKey, login.scope),
  )
  let claims = login.claims
  let idToken = login.idToken
  if (tokens.idToken !== undefined) {
    idToken = await signedIdToken(tokens.idToken, {
      keys: config.encryptionKeys,
      required: config.encryption.idToken,
    })
    claims = {
      ...(await validateRefreshedIdToken(
        idToken,
        {
          ...serverJwtContext(context, metadata.idTokenAlgorithms),
          accessToken: tokens.accessToken,
        },
        login.claims,
      )),
    }
  }
  const rotated = tokens.refreshToken !== undefined && tokens.refreshToken !== ''
  return {
    claims,
    tokens: {
      ...tokens,
      idToken,
      // Rotation: the new refresh token replaces the old one, which is never sent again.
      refreshToken: rotated ? tokens.refreshToken : login.refreshToken,
    },
  }
}
