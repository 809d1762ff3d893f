/**
 * The development client `my-app`: an app of your own at `http://localhost:4000` (or `MY_APP_URL`)
 * that logs in at the example banks, registered beside the portal. It publishes its keys at its own
 * `jwks_uri`, so a key made with `npx express-fapi keys` works without registering it anywhere, and
 * it may sign with PS256, ES256 or EdDSA. The banks require what a FAPI 2.0 Message Signing server
 * requires: `private_key_jwt`, PAR, signed request objects, JARM, and DPoP-bound access tokens.
 *
 * docs/guides/your-own-app.md is the walk-through; dynamic registration is the longer-term path.
 */
import type { RegisteredClient } from './server.js'

/** The development client's `client_id` at both example banks. */
export const DEV_CLIENT_ID = 'my-app'

/** Where the development app runs unless `MY_APP_URL` says otherwise. */
export const DEV_CLIENT_URL = 'http://localhost:4000'

/**
 * The development client of an app at `origin` (`http://localhost:4000`): its callback
 * `/auth/callback`, its home page as the post-logout redirect, its keys at
 * `/.well-known/jwks.json` (the paths `auth.router()` and the guide use).
 */
export function devClientRegistration(origin: string = DEV_CLIENT_URL): RegisteredClient {
  const url = URL.canParse(origin) ? new URL(origin) : undefined
  // An origin: http(s), no path, query, fragment or user name (a trailing / is fine).
  if (url === undefined || !/^https?:$/.test(url.protocol) || url.href !== `${url.origin}/`) {
    throw new Error(`MY_APP_URL must be an origin such as ${DEV_CLIENT_URL}, got "${origin}"`)
  }
  return {
    clientId: DEV_CLIENT_ID,
    redirectUris: [`${url.origin}/auth/callback`],
    postLogoutRedirectUris: [`${url.origin}/`],
    jwksUri: `${url.origin}/.well-known/jwks.json`,
  }
}

/**
 * The development client's metadata at oidc-provider. No signing algorithm is pinned for the
 * client's own JWTs (client assertions, request objects): any the bank enables (PS256, ES256,
 * EdDSA) fits whichever key the app made.
 */
export function devClientMetadata(client: RegisteredClient): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_name: 'Your app (development)',
    application_type: 'web',
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    jwks_uri: client.jwksUri,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    response_modes: ['jwt', 'query.jwt', 'form_post.jwt', 'fragment.jwt'],
    scope: 'openid profile email',
    token_endpoint_auth_method: 'private_key_jwt',
    authorization_signed_response_alg: 'PS256',
    id_token_signed_response_alg: 'PS256',
    require_signed_request_object: true,
    require_pushed_authorization_requests: true,
    dpop_bound_access_tokens: true,
  }
}
