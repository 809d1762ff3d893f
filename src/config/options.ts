/**
 * The options of `fapiClient()` and the names they use: the public, documented input that
 * `index.ts` validates once.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import type { EncryptionKeyInput } from './encryption-keys.js'
import type { FapiEvent } from './events.js'

/**
 * The security profiles a client can be held to, checked at startup:
 * - `fapi2-security`: FAPI 2.0 Security Profile. PAR, PKCE, a plain `query` response checked by
 *   its RFC 9207 `iss` (or JARM), `private_key_jwt` or mTLS client authentication, DPoP- or
 *   mTLS-bound tokens.
 * - `fapi2-message-signing`: the above plus FAPI 2.0 Message Signing: signed request objects (JAR)
 *   and signed responses (JARM).
 * - `fapi1-advanced`: FAPI 1.0 Part 2 Advanced: JAR, JARM, PS256/ES256 only, mTLS-bound tokens,
 *   PAR optional.
 * - `oidc`: a plain OpenID Connect server: PKCE, nonce, state and signed ID tokens still, other
 *   algorithms (RS256) only when listed in `algorithms`, no binding unless asked for.
 */
export type Profile = 'fapi2-security' | 'fapi2-message-signing' | 'fapi1-advanced' | 'oidc'

/**
 * Where the authorization response arrives. The JARM modes (JARM §4.3): `jwt` means `query.jwt`
 * for `response_type=code`; `form_post.jwt` and `fragment.jwt` are answered with a small
 * same-origin relay page where needed (see docs/guides/response-modes-and-cookies.md). `query`: a
 * plain, unsigned response, checked by its RFC 9207 `iss` (profiles `fapi2-security` and `oidc`
 * only).
 */
export type ResponseMode = 'query' | 'jwt' | 'query.jwt' | 'form_post.jwt' | 'fragment.jwt'

/** JWS algorithms, for what we sign and for what we accept. RS256 only under `oidc`, if listed. */
export type JwsAlgorithm = 'PS256' | 'ES256' | 'EdDSA' | 'RS256'

/**
 * The rotation state of one of the client's keys: `active` (the default) signs; `next` is
 * published ahead of use, so that servers that cache the client's JWKS know it before it signs;
 * `retiring` is still published (JWTs it signed are still being verified) but signs no more.
 * Encryption keys in every state decrypt.
 */
export type KeyState = 'active' | 'next' | 'retiring'

/**
 * A signing key as given in the options: a private JWK with `kid`, a `KeyObject` with a `kid`, or
 * an external signer (an HSM or KMS key that never enters the process); each with an optional
 * rotation `state`.
 */
export type SigningKeyInput =
  | (JWK & { kid: string; state?: KeyState })
  | { kid: string; key: KeyObject; alg?: JwsAlgorithm; state?: KeyState }
  | (ExternalSigner & { state?: KeyState })

/**
 * How access tokens are bound to this client (FAPI 2.0 §5.3.3.1 (1), FAPI 1.0 Adv §5.2.3 (1)):
 * `dpop` (RFC 9449), `mtls` (RFC 8705, certificate-bound), or `none` (plain bearer tokens; an
 * explicit opt-out that FAPI does not allow).
 */
export type SenderConstraint = 'dpop' | 'mtls' | 'none'

/** How the client authenticates at the PAR and token endpoints. */
export type ClientAuthMethod =
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'

/**
 * The `aud` of `private_key_jwt` client assertions: `issuer` (the issuer identifier as a string,
 * FAPI 2.0 §5.3.3.1 (5), which also defends against audience injection) or `endpoint` (the URL of
 * the PAR or token endpoint the assertion is posted to, OIDC Core §9; `fapi1-advanced` and `oidc`
 * only, for servers that accept nothing else).
 */
export type ClientAssertionAudience = 'issuer' | 'endpoint'

/** The client's TLS material, PEM-encoded. */
export interface TlsOptions {
  /** The client certificate (mTLS client authentication and certificate-bound tokens). */
  readonly cert?: string | Buffer
  /** The private key of `cert`. */
  readonly key?: string | Buffer
  /**
   * CA certificates trusted for the authorization server's (and resource servers') certificates,
   * instead of Node's default list: for a private PKI.
   */
  readonly ca?: string | Buffer | readonly (string | Buffer)[]
}

/** What the server encrypts to this client, or this client to the server. */
export interface EncryptionOptions {
  /** Encrypt request objects to the server's `use: enc` key (sign, then encrypt). */
  readonly requestObject?: boolean
  /** The server encrypts ID tokens (registered `id_token_encrypted_response_alg`): a plain one is refused. */
  readonly idToken?: boolean
  /** The server encrypts JARM responses (registered `authorization_encrypted_response_alg`): a plain one is refused. */
  readonly authorizationResponse?: boolean
}

/** Options of {@link fapiClient}. */
import type { Coordination, SessionSecretsOptions } from './coordination.js'
import type { ExternalSigner } from './signer.js'
import type { GrantStore } from './grants.js'

export interface FapiClientOptions {
  /** The authorization server's issuer identifier, compared exactly with its metadata `issuer`. */
  issuer: string
  /** This client's `client_id` at the authorization server. */
  clientId: string
  /** The absolute callback URL registered at the server. Never derived from the request. */
  redirectUri: string
  /**
   * The client's private keys. `signing`: JWKs (with `kid`) or `{ kid, key: KeyObject }`.
   * `encryption`: keys that decrypt JARM responses and ID tokens (RSA-OAEP, ECDH-ES); their
   * public halves are published by `jwks()` with `use: enc`. May be left out by a client that
   * signs nothing (a `client_secret_*` or mTLS client without request objects).
   */
  keys?: {
    /** Required for request objects and `private_key_jwt` (the default client authentication). */
    signing?: readonly SigningKeyInput[]
    encryption?: readonly EncryptionKeyInput[]
  }
  /** The security profile. Default `'fapi2-message-signing'`. */
  profile?: Profile
  /** The response mode. Default `'jwt'`, or `'query'` under `fapi2-security` and `oidc`. */
  responseMode?: ResponseMode
  /**
   * The JARM response modes a login may ask for instead of `responseMode` (`login({ responseMode })`,
   * `startLogin(req, res, { responseMode })`); `responseMode` is always allowed. Each must be a
   * JARM mode, and the server must list it in `response_modes_supported`. The pending login
   * records its mode, and the callback accepts a response only in that mode. Default: none, only
   * `responseMode`.
   */
  responseModes?: readonly ResponseMode[]
  /**
   * Push the authorization request to the PAR endpoint (RFC 9126). Default `true`; `false` under
   * `oidc`. Required by the FAPI 2.0 profiles.
   */
  pushedAuthorizationRequests?: boolean
  /**
   * Put the authorization parameters in a signed request object (JAR, RFC 9101). Default `false`;
   * `true` under `fapi2-message-signing` and `fapi1-advanced`, which require it. Without it, PAR
   * (or the query) carries the parameters.
   */
  requestObject?: boolean
  /**
   * Token binding. Default `'dpop'` under the FAPI 2.0 profiles, `'mtls'` under `fapi1-advanced`,
   * `'none'` under `oidc`. `'none'` is an explicit opt-out that FAPI does not allow.
   */
  senderConstraint?: SenderConstraint
  /**
   * Client authentication. Default `'private_key_jwt'`; the `tls_*` methods need `tls`. The
   * `client_secret_*` methods (OIDC Core §9) are for plain OpenID Connect servers: profile `oidc`
   * only, with `clientSecret`.
   */
  clientAuthMethod?: ClientAuthMethod
  /**
   * The client secret, for `clientAuthMethod` `'client_secret_basic'`, `'client_secret_post'` or
   * `'client_secret_jwt'` (at least 32 characters for `client_secret_jwt`, the HS256 key size of
   * RFC 7518 §3.2). Never logged, traced or shown in errors.
   */
  clientSecret?: string
  /**
   * The `aud` of `private_key_jwt` assertions. Default `'issuer'`; `'endpoint'` only under
   * `fapi1-advanced` and `oidc`.
   */
  clientAssertionAudience?: ClientAssertionAudience
  /** The client certificate and key (mTLS), and CAs trusted for the server. */
  tls?: TlsOptions
  /**
   * What is encrypted (needs `keys.encryption` for responses). Default `{}`: nothing encrypted to
   * the server, and plain responses accepted.
   */
  encryption?: EncryptionOptions
  /**
   * JWS algorithms to accept and sign with: narrows the profile's list (PS256, ES256, EdDSA; FAPI
   * 1.0: PS256, ES256). Under `oidc` only, may add `'RS256'` for servers that sign with nothing
   * else.
   */
  algorithms?: readonly JwsAlgorithm[]
  /** The requested scope. Must include `openid`. Default `'openid'`. */
  scope?: string
  /**
   * Extra authorization parameters put in every request object (e.g. `acr_values`, `claims`).
   * Default `{}`.
   */
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
  /**
   * Seconds a pending login stays valid. Default 600. The session of an anonymous login (one that
   * holds no login yet) gets a cookie `maxAge` of this many seconds, so stores with expiry drop it.
   */
  pendingLoginMaxAge?: number
  /**
   * Largest age in seconds of an ID token's `iat` (OIDC Core §3.1.3.7 (10)): an older ID token is
   * refused. Default 600.
   */
  idTokenMaxAge?: number
  /** Largest accepted form body at the callback, in bytes. Default 32 KiB. */
  maxCallbackBodyBytes?: number
  /** Origins (besides relative paths) that `returnTo` may point to. Default `[]`: none. */
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
  /**
   * The key of this client's part of the session (`req.session[sessionKey]`: its pending logins
   * and the id of its grant): give each client of one app its own, so that their pending logins
   * and grant references never collide. Default `'fapi'`.
   */
  sessionKey?: string
  /**
   * Send the request object by reference (RFC 9101 §5.2): the app hosts it at an unguessable URL
   * of its own (mounted by `router()`), served once and gone after a short lifetime, and the
   * browser carries only `client_id` and `request_uri` (with the `response_type` and `scope`
   * duplicates OIDC Core §6.2 and FAPI 1.0 Advanced §5.2.3 (9) require). Profiles `oidc` and
   * `fapi1-advanced`, with `requestObject` on and PAR off, at a server whose
   * `request_uri_parameter_supported` is not false. Default `false`.
   */
  requestObjectByReference?: boolean
  /**
   * The path under which the router serves request objects by reference (RFC 9101 §5.2): each at
   * `<redirectUri's origin><requestObjectPath>/<random id>`, once. Default
   * `'/auth/request-objects'`.
   */
  requestObjectPath?: string
  /**
   * Where request objects by reference wait for the server's fetch (RFC 9101 §5.2): in this
   * process's memory by default. With several instances behind a load balancer the server's
   * fetch may reach another instance than the login: give them all one shared store.
   */
  requestObjectStore?: RequestObjectStore
  /**
   * What the token response's `authorization_details` (RFC 9396 §7) must be when a login asked for
   * some: `'equal'` (the same objects, members in any order), `'any'` (whatever the server
   * granted; the app reads it from the login), or a predicate of `(granted, requested)`. A login
   * whose grant fails it is `ERR_AUTHORIZATION_DETAILS_NOT_GRANTED` and gets no session. Default
   * `'equal'`.
   */
  grantedAuthorizationDetails?:
    | 'equal'
    | 'any'
    | ((
        granted: readonly AuthorizationDetailObject[] | undefined,
        requested: readonly AuthorizationDetailObject[],
      ) => boolean)
  /**
   * Receives a typed, redacted event for each step of a login (metadata, request object, PAR,
   * authorization response, token response, ID token, outcome), for a trace page or metrics.
   * Values are redacted by allow-list: only public parameters (`response_type`, `scope`,
   * `client_id`, `redirect_uri`, `prompt`, `acr_values`, `authorization_details` types, …)
   * show their values; tokens, codes, hints, `claims`, intent ids and ID token claims never do.
   * May be sync or async: a throw or a rejected promise is caught, counted and logged
   * (`express-fapi:events`, without the event's values) and never reaches the login or the
   * process. Default: none.
   */
  onEvent?: (event: FapiEvent) => void | Promise<void>
  /**
   * The store that several instances share: single use of authorization responses, one refresh in
   * flight per login, DPoP nonces. Default none: an in-memory store for this process. With several
   * instances, pass `redisCoordination(client)`.
   */
  coordination?: Coordination
  /**
   * Where finished logins (grants) live, server-side: the session holds only a grant's id.
   * Default none: an in-memory store for this process. With several instances, pass
   * `redisGrantStore(client)`; any store that passes `grantStoreContract()` (of
   * `express-fapi/testing`) will do.
   */
  grants?: GrantStore
  /**
   * Seconds a grant is kept when the server does not say how long it lasts. A grant's expiry (when
   * its store may forget it) is, in this order: the refresh token's lifetime when the token
   * response states it (`refresh_expires_in`, a common extension: RFC 6749 has no member for it;
   * `0` or an unusable value counts as not stated), else now plus this many seconds. A refresh
   * sets it again by the same rule: the new `refresh_expires_in`; else, when the refresh token was
   * not rotated, the lifetime the server stated before; else the later of the grant's expiry and
   * now plus this many seconds. The Redis store's keys expire with the grant. Default 7776000
   * (90 days); 60 to 315360000 (10 years).
   *
   * @example
   * ```ts
   * // A bank whose consents last a year and whose token responses do not say so:
   * fapiClient({ ...options, grantLifetime: 365 * 86_400 })
   * ```
   * @see RFC 6749 §5.1 (no refresh token lifetime member), §6 (refresh)
   */
  grantLifetime?: number
  /**
   * Keys that seal the body of grant records (claims, tokens, DPoP key) in the grant store and the
   * secrets of pending logins in the session (a JWE, `dir` + A256GCM, named by `kid`), so a dump
   * of either store yields no usable token. Default none: stored as they are.
   */
  sessionSecrets?: SessionSecretsOptions
  /** The clock, in milliseconds since the epoch. Default `Date.now`. For tests. */
  now?: () => number
  /**
   * The timer of outgoing HTTP exchanges: calls `expire` once `ms` (`httpTimeout`) have passed
   * and returns a function that cancels it. Default none: `setTimeout`. For tests, where a
   * timeout should fire on the test's signal rather than on a loaded machine's clock.
   */
  httpTimer?: HttpTimer
}

/** Schedules `expire` after `ms` milliseconds; the function it returns cancels it. */
export type HttpTimer = (ms: number, expire: () => void) => () => void

/** One RFC 9396 authorization details object: a string `type`, members defined by the type. */
export type AuthorizationDetailObject = Readonly<Record<string, unknown>> & {
  readonly type: string
}

/**
 * Where request objects by reference (RFC 9101 §5.2) wait for the server's fetch, by id. `take`
 * returns the object at most once (and deletes it), and never after `expiresAt`.
 */
export interface RequestObjectStore {
  put(id: string, requestObject: string, expiresAt: number): Promise<void> | void
  /** The object of `id` if it is there and `now` (milliseconds) is before its `expiresAt`. */
  take(id: string, now: number): Promise<string | undefined> | string | undefined
}
