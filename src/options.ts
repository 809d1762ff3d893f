/**
 * The options of `fapiClient()` and the names they use: the public, documented input that
 * `config.ts` validates once.
 *
 * @module
 */
import type { SigningKeyInput } from './core/keys.js'

/** The security profiles a client can be held to. */
export type Profile = 'fapi2-message-signing' | 'fapi1-advanced'

/**
 * The JARM response modes (JARM §4.3). `jwt` means `query.jwt` for `response_type=code`.
 * `form_post.jwt` and `fragment.jwt` are answered with a small same-origin relay page where needed
 * (see the README, "The cookie problem").
 */
export type ResponseMode = 'jwt' | 'query.jwt' | 'form_post.jwt' | 'fragment.jwt'

/** JWS algorithms a profile allows, for what we sign and for what we accept. */
export type JwsAlgorithm = 'PS256' | 'ES256' | 'EdDSA'

/** Options of {@link fapiClient}. */
export interface FapiClientOptions {
  /** The authorization server's issuer identifier, compared exactly with its metadata `issuer`. */
  issuer: string
  /** This client's `client_id` at the authorization server. */
  clientId: string
  /** The absolute callback URL registered at the server. Never derived from the request. */
  redirectUri: string
  /** The client's private keys. `signing`: JWKs (with `kid`) or `{ kid, key: KeyObject }`. */
  keys: { signing: readonly SigningKeyInput[] }
  /** The security profile. Default `'fapi2-message-signing'`. */
  profile?: Profile
  /** The JARM response mode. Default `'jwt'`. */
  responseMode?: ResponseMode
  /**
   * Push the request object to the PAR endpoint (RFC 9126). Default `true`; required by
   * `fapi2-message-signing`.
   */
  pushedAuthorizationRequests?: boolean
  /** The requested scope. Must include `openid`. Default `'openid'`. */
  scope?: string
  /** Extra authorization parameters put in every request object (e.g. `acr_values`, `claims`). */
  authorizationParams?: Readonly<Record<string, string | number | boolean | object>>
  /** Seconds of clock skew tolerated when checking `exp`, `iat`, `nbf`. Default 5, max 60. */
  clockTolerance?: number
  /** Milliseconds before a call to the authorization server is abandoned. Default 5000. */
  httpTimeout?: number
  /** Largest response body read from the authorization server, in bytes. Default 1 MiB. */
  maxResponseBytes?: number
  /** Lifetime of a request object in seconds (FAPI: ≤ 3600). Default 300. */
  requestObjectLifetime?: number
  /** Pending logins kept per session (oldest dropped first). Default 5. */
  maxPendingLogins?: number
  /** Seconds a pending login stays valid. Default 600. */
  pendingLoginMaxAge?: number
  /** Largest accepted form body at the callback, in bytes. Default 32 KiB. */
  maxCallbackBodyBytes?: number
  /** Origins (besides relative paths) that `returnTo` may point to. Default none. */
  returnToOrigins?: readonly string[]
  /** Where to go after login when no `returnTo` was given. Default `'/'`. */
  defaultReturnTo?: string
  /**
   * The path where `login()` is mounted: `requiresAuth()` sends page requests there, with
   * `?returnTo=` set to the page. Default `'/auth/login'`.
   */
  loginPath?: string
  /**
   * The absolute URL the authorization server sends the browser back to after `logout()`
   * (`post_logout_redirect_uri`, OpenID Connect RP-Initiated Logout §3); register it at the server.
   * Without it, the server shows its own "signed out" page, and a local logout goes to `/`.
   */
  postLogoutRedirectUri?: string
  /**
   * Allow `http:` for the issuer and its endpoints when the host is a loopback address
   * (127.0.0.0/8, `[::1]`, `localhost`). FAPI requires TLS: this exists for tests and local
   * development only. Default `false`.
   */
  allowInsecureLoopback?: boolean
  /** The clock, in milliseconds since the epoch. Default `Date.now`. For tests. */
  now?: () => number
}
