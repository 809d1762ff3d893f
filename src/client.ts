/**
 * `fapiClient()`: resolves the configuration once and hands out the middlewares that share it.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FapiClientOptions } from './config/index.js'
import type { TlsOptions } from './config/options.js'
import { createFapiCore, type FapiCore } from './core/client.js'
import type { GrantQuery } from './config/grants.js'
import type { ActiveGrant, Grant } from './core/grants/record.js'
import type { RevocationOutcome } from './core/flows/revocation.js'
import { createCallback, type CallbackOptions, type LoginHandler } from './middleware/callback.js'
import { createRequiresAuth, type RequiresAuthOptions } from './middleware/guards.js'
import type { Middleware } from './middleware/http.js'
import { createJwksRoute } from './middleware/jwks-route.js'
import {
  createLogin,
  startLoginWith,
  type LoginOptions,
  type StartLoginOptions,
} from './middleware/login.js'
import { createRouter, type RouterPaths } from './middleware/router.js'
import { runStartupCheck, type StartupCheck } from './middleware/startup-check.js'
import { currentGrant, grantIdOf } from './middleware/grants.js'
import { registerNamespace, requireSession } from './middleware/session.js'
import { createLogout } from './middleware/logout.js'
import { createBackchannelLogout } from './middleware/backchannel-logout.js'
import { createRefresh, type Refresh } from './middleware/refresh.js'
import { toFapiError } from './errors.js'
import { createFetchResource, type FetchResource } from './middleware/resource.js'
import type { ClientCredentialsRequest } from './core/flows/client-credentials.js'
import type { AuthorizationDetail } from './core/server/authorization-details.js'
import type { ResourceRequestInit } from './core/server/resource.js'

/** A client credentials token as the app sees it (its DPoP key stays inside). */
export interface ClientCredentialsToken {
  readonly accessToken: string
  /** `DPoP` when bound to the client's DPoP key, else `Bearer` (certificate-bound under mTLS). */
  readonly tokenType: 'Bearer' | 'DPoP'
  /** Milliseconds since the epoch, when the server said `expires_in`. */
  readonly expiresAt: number | undefined
  readonly scope: string
  /** What the server granted (RFC 9396 §7), when it says. */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
}

/**
 * The middlewares of one FAPI client, typed over `node:http`: they work in Express 4 and 5 and in
 * Connect 3 alike.
 */
/** One grant, by id, used without a request. */
export interface GrantHandle {
  readonly id: string
  /** The grant as stored (active or ended), or undefined when unknown or forgotten. */
  get(): Promise<Grant | undefined>
  /** Calls a resource server with the grant's token (refreshed once first when expired). */
  fetchResource(url: string, init?: ResourceRequestInit): Promise<Response>
  /** The userinfo claims (OIDC Core §5.3), as {@link FapiClient.userinfo}. */
  userinfo(): Promise<Readonly<Record<string, unknown>>>
  /** Refreshes the grant (one refresh in flight per grant across instances). */
  refresh(): Promise<ActiveGrant>
  /** Ends the grant for every instance, then revokes its tokens (RFC 7009). */
  end(): Promise<RevocationOutcome>
}

export interface FapiClient {
  /**
   * Mounts the client's routes in one middleware, for `app.use(auth.router())` (Express 4 and 5,
   * Connect 3): the login (GET, at `loginPath`), the callback (GET and POST, at `redirectUri`'s
   * path), the logout (POST, `/auth/logout`) and the JWKS (GET, `/.well-known/jwks.json`). Move
   * logout and JWKS with `paths`, or leave any route out with `false`; `options` passes the
   * login options and the callback hooks on. Other requests go on to `next()`.
   *
   * @example
   * ```ts
   * app.use(auth.router())
   * app.use(auth.router({ jwks: '/jwks' }, { callback: { beforeSession: (req, { claims }) => claims.sub !== 'banned' } }))
   * ```
   */
  router<
    Req extends IncomingMessage = IncomingMessage,
    Res extends ServerResponse = ServerResponse,
  >(
    paths?: RouterPaths,
    options?: {
      readonly login?: LoginOptions<Req>
      readonly callback?: LoginHandler<Req, Res> | CallbackOptions<Req, Res>
      /**
       * Fetch and check discovery and the server's JWKS now, in the background, so that an
       * issuer or metadata mistake shows when the app starts: `true` reports a failure with one
       * `console.error` line (its code, the message, what to check), a function receives the
       * `FapiError` instead. The app keeps running either way. Default: checked at the first login.
       */
      readonly checkAtStartup?: StartupCheck
    },
  ): Middleware<Req, Res>
  /**
   * The login route: accepts `?returnTo=` (a path on this site, or a URL on `returnToOrigins`),
   * stores a pending login in the session and redirects to the authorization server. `options`:
   * per-login `authorizationParams` (an object, or a function of the request), a fixed
   * `returnTo`, a `responseMode` among `responseModes`.
   *
   * @example
   * ```ts
   * app.get('/auth/login', auth.login({
   *   authorizationParams: (req) => ({ login_hint: String(req.query.hint ?? ''), max_age: 300 }),
   * }))
   * ```
   * @see OIDC Core §3.1.2.1 (`max_age`, `acr_values`), §5.5 (`claims`)
   */
  login<Req extends IncomingMessage = IncomingMessage>(options?: LoginOptions<Req>): Middleware<Req>
  /**
   * Starts a login from the app's own handler (after creating a consent, for instance): stores
   * the pending login, saves the session and answers `res` with a 303 to the authorization
   * server. Rejects with a `FapiError` (then nothing was sent).
   *
   * @example
   * ```ts
   * app.post('/payments', async (req, res, next) => {
   *   const consent = await createConsent(req.body)
   *   auth.startLogin(req, res, {
   *     authorizationParams: { authorization_details: [{ type: 'payment_initiation', consent }] },
   *     returnTo: '/payments/done',
   *   }).catch(next)
   * })
   * ```
   */
  startLogin(req: IncomingMessage, res: ServerResponse, options?: StartLoginOptions): Promise<void>
  /**
   * The session's active grant at this client's server (read from the grant store, once per
   * request: a logout or back-channel logout on any instance is seen at once), or undefined. The
   * grant is frozen, nested objects too.
   *
   * @example
   * ```ts
   * const login = await auth.currentLogin(req)
   * if (login !== undefined) console.log(login.claims.sub, login.id)
   * ```
   */
  currentLogin(req: IncomingMessage): Promise<ActiveGrant | undefined>
  /** Whether the session refers to an active grant of this client at its issuer. */
  isAuthenticated(req: IncomingMessage): Promise<boolean>
  /**
   * A grant by id, without a request (a background job): read it, call the bank with its
   * tokens, refresh it (the same single flight across instances as a user's request), or end it
   * (revocation included). Methods reject with `ERR_LOGIN_REQUIRED` once it ended.
   *
   * @example
   * ```ts
   * const accounts = await auth.grant(user.grantId).fetchResource('https://api.bank.example/accounts')
   * ```
   */
  grant(grantId: string): GrantHandle
  /** The ids of this client's grants matching `query`: by owner, or by (issuer, `sub` or `sid`). */
  findGrants(query: GrantQuery): Promise<readonly string[]>
  /**
   * The callback route at `redirectUri`'s path, for GET and POST (`app.all`). Calls `handler`
   * only after every check passed and the session was regenerated; without a handler, redirects
   * to `returnTo`. For `form_post.jwt` and `fragment.jwt` it also serves the small relay pages
   * that bring the response back with the session cookie. Annotate the handler's `req` and `res`
   * with your framework's types to use its helpers:
   *
   * @example
   * ```ts
   * import type { Request, Response } from 'express'
   * app.all('/auth/callback', auth.callback((req: Request, res: Response, { returnTo }) => res.redirect(returnTo)))
   * ```
   */
  callback<
    Req extends IncomingMessage = IncomingMessage,
    Res extends ServerResponse = ServerResponse,
  >(
    handler?: LoginHandler<Req, Res> | CallbackOptions<Req, Res>,
  ): Middleware<Req, Res>
  /**
   * A guard for routes that need a logged-in user (a login of this client at this issuer in the
   * session). Page requests of anyone else are redirected (303) to `loginPath` with `returnTo` set
   * to the page (GET); API requests (`X-Requested-With`, or an `Accept` that prefers JSON) get
   * `401 { error: 'ERR_LOGIN_REQUIRED', message }`.
   *
   * @example
   * ```ts
   * app.get('/account', auth.requiresAuth(), (req, res) => {
   *   res.send(`Hello ${String(req.session.fapi?.login?.claims.name)}`)
   * })
   * ```
   * @see RFC 9700 §4.11 (`returnTo` is checked by `login()`, never an open redirect)
   */
  requiresAuth(options?: RequiresAuthOptions): Middleware
  /**
   * Logs out: first revokes the login's refresh token and access token where the server has a
   * `revocation_endpoint` (RFC 7009; a failure is logged and never keeps the user logged in), then
   * destroys the local session, then redirects (303) to the server's
   * `end_session_endpoint` with `id_token_hint`, `client_id` and `post_logout_redirect_uri`, or,
   * when the server has none (or is unreachable, or nobody was logged in), to
   * `postLogoutRedirectUri` or `/`. Mount it for POST so that other sites cannot log users out.
   *
   * @example
   * ```ts
   * app.post('/auth/logout', auth.logout())
   * ```
   * @see OpenID Connect RP-Initiated Logout 1.0 §2
   */
  logout(): Middleware
  /**
   * The back-channel logout route (OpenID Connect Back-Channel Logout 1.0): mount it for POST at
   * the URL registered as the client's `backchannel_logout_uri` (`router()` mounts it at
   * `/auth/backchannel-logout`). A valid logout token ends the grants it names (by `sid` or
   * `sub`) on every instance: those users' sessions are logged out at their next request.
   * Answers 200, or 400 `{ error: 'ERR_LOGOUT_TOKEN_*', message }`.
   *
   * @example
   * ```ts
   * app.post('/auth/backchannel-logout', auth.backchannelLogout())
   * ```
   * @see OpenID Connect Back-Channel Logout 1.0 §2.5, §2.6, §2.8
   */
  backchannelLogout(): Middleware
  /**
   * The client's public keys as a JWKS, for the server's `jwks_uri` of this client: signing keys,
   * encryption keys (`use: enc`), and the client certificate under `self_signed_tls_client_auth`.
   */
  jwks(): Middleware
  /**
   * Replaces the client's keys while running (key rotation), with the same shape and checks as the
   * `keys` option: a mistake throws a `FapiConfigError` and keeps the current keys. JWTs signed
   * after the call use the first `active` signing key the server accepts; `next` and `retiring`
   * keys are published by `jwks()` but do not sign; every listed encryption key decrypts. Rotate
   * in three steps, each one served for longer than the server caches the client's JWKS: add the
   * new key as `next`; make it `active` and the old one `retiring`; remove the old one.
   *
   * @example
   * ```ts
   * auth.updateKeys({ signing: [{ ...newJwk, state: 'next' }, oldJwk] })
   * // once the server has fetched the JWKS again:
   * auth.updateKeys({ signing: [newJwk, { ...oldJwk, state: 'retiring' }] })
   * ```
   * @see RFC 7517 §5; OIDC Core §10.1.1 (rotation of asymmetric signing keys)
   */
  updateKeys(keys: FapiClientOptions['keys']): void
  /**
   * Replaces the TLS material (client certificate and key, CAs) while running: checked like the
   * `tls` option (a mistake throws a `FapiConfigError` and keeps the current material). New
   * connections present the new certificate; requests in flight finish on their connection.
   * Tokens bound to the old certificate are refused by resource servers from then on, until the
   * login is refreshed: the refreshed tokens are bound to the new certificate.
   *
   * @example
   * ```ts
   * auth.updateTls({ cert: readFileSync('client-2027.pem'), key: readFileSync('client-2027.key') })
   * ```
   * @see RFC 8705 §3
   */
  updateTls(tls: TlsOptions): void
  /**
   * Calls a resource server as the logged-in user of `req`: `Authorization: DPoP <token>` with a
   * DPoP proof (`ath`, server nonce retried once), or `Bearer` over mTLS with the client
   * certificate for certificate-bound tokens (at the server's mTLS alias for its userinfo
   * endpoint), or plain `Bearer` under `senderConstraint: 'none'`. The token never goes in the
   * URL. When the access token has expired (its `expiresAt`, within `clockTolerance`) and the
   * login has a refresh token, the tokens are refreshed once first, as {@link FapiClient.refresh}
   * does. Resolves with the resource server's response, whatever its status; rejects with a
   * `FapiError` (`ERR_LOGIN_REQUIRED` without a login, `ERR_RESOURCE_*`, or a refresh failure).
   *
   * @example
   * ```ts
   * app.get('/accounts', auth.requiresAuth(), async (req, res, next) => {
   *   try {
   *     const answer = await auth.fetchResource(req, 'https://api.bank.example/accounts')
   *     res.status(answer.status).json(await answer.json())
   *   } catch (error) {
   *     next(error)
   *   }
   * })
   * ```
   * @see RFC 9449 §7, §9; RFC 8705 §3; FAPI 2.0 §5.3.3.1 (3)
   */
  readonly fetchResource: FetchResource
  /**
   * Refreshes the tokens of the logged-in user of `req` with the refresh grant (same client
   * authentication as the login, a DPoP proof when the tokens are DPoP-bound) and saves them in
   * the session. A rotated refresh token replaces the old one; a new ID token must be valid and
   * have the original's `iss`, `sub` and `aud`. Resolves with the stored claims and tokens; rejects
   * with a `FapiError`: `ERR_LOGIN_REQUIRED`, `ERR_REFRESH_TOKEN_MISSING` (no refresh token),
   * `ERR_TOKEN_REJECTED` (e.g. `invalid_grant`), `ERR_TOKEN_*`, `ERR_ID_TOKEN_*`.
   *
   * @example
   * ```ts
   * app.post('/session/refresh', auth.requiresAuth(), (req, res, next) => {
   *   auth.refresh(req).then(({ tokens }) => res.json({ expiresAt: tokens.expiresAt }), next)
   * })
   * ```
   * @see FAPI 2.0 §5.3.3.1 (6); RFC 6749 §6; OIDC Core §12.2
   */
  readonly refresh: Refresh
  /**
   * The logged-in user's claims from the server's userinfo endpoint (OIDC Core §5.3), called with
   * the login's token as {@link FapiClient.fetchResource} does (refreshed once first when expired):
   * a JSON answer, or a signed (optionally encrypted) userinfo JWT verified like an ID token
   * (server keys, allow-listed algorithms, `iss`, `aud`). Its `sub` must be the ID token's, or
   * nothing of it is used. Rejects with a `FapiError`: `ERR_LOGIN_REQUIRED`,
   * `ERR_USERINFO_UNAVAILABLE`, `ERR_USERINFO_REJECTED`, `ERR_USERINFO_INVALID`,
   * `ERR_USERINFO_SUB_MISMATCH`, `ERR_RESOURCE_*`.
   *
   * @example
   * ```ts
   * app.get('/profile', auth.requiresAuth(), (req, res, next) => {
   *   auth.userinfo(req).then((claims) => res.json(claims), next)
   * })
   * ```
   * @see OIDC Core §5.3.2, §5.3.4
   */
  userinfo(req: IncomingMessage): Promise<Readonly<Record<string, unknown>>>
  /**
   * A token for the client itself (RFC 6749 §4.4), to create a consent at the bank's API before a
   * login, say: the same client authentication as the logins (`private_key_jwt` or mTLS) and the
   * same sender constraint (a DPoP key of the client, kept in memory, or the certificate). Cached
   * per parameter set until shortly before it expires; one request in flight per parameter set.
   * Rejects with a `FapiError` (`ERR_CLIENT_CREDENTIALS_REQUEST_INVALID`,
   * `ERR_AUTHORIZATION_DETAILS_*`, `ERR_TOKEN_REJECTED`, `ERR_TOKEN_*`).
   *
   * @example
   * ```ts
   * const { accessToken, expiresAt } = await auth.clientCredentials({ scope: 'payments' })
   * ```
   * @see RFC 6749 §4.4; RFC 9396 §6; RFC 8707; RFC 9449 §5; RFC 8705 §3
   */
  clientCredentials(request?: ClientCredentialsRequest): Promise<ClientCredentialsToken>
  /**
   * Calls a resource server with a client credentials token for `request` (see
   * {@link FapiClient.clientCredentials}), bound as it was issued (a DPoP proof with `ath`, or the
   * client certificate): to create a consent at the bank's API, say. Resolves with the answer
   * whatever its status.
   *
   * @example
   * ```ts
   * const answer = await auth.fetchAsClient('https://api.bank.example/consents', {
   *   method: 'POST',
   *   headers: { 'content-type': 'application/json' },
   *   body: JSON.stringify({ amount: '10.00', currency: 'EUR' }),
   * }, { scope: 'payments' })
   * ```
   * @see RFC 6750 §2.1; RFC 9449 §7; RFC 8705 §3
   */
  fetchAsClient(
    url: string,
    init?: ResourceRequestInit,
    request?: ClientCredentialsRequest,
  ): Promise<Response>
  /**
   * Fetches discovery and the server's JWKS now. Optional: both are fetched on first use anyway.
   * Rejects with a `FapiError` when the server is unreachable or its metadata is unusable.
   */
  ready(): Promise<void>
  /** The protocol core these middlewares use (see `express-fapi/core`). */
  readonly core: FapiCore
}

/**
 * Creates a FAPI client. Throws a {@link FapiConfigError} at once on a configuration mistake.
 *
 * @example
 * ```ts
 * const auth = fapiClient({
 *   issuer: 'https://as.example.com',
 *   clientId: 'portal',
 *   redirectUri: 'https://portal.example.com/auth/callback',
 *   keys: { signing: [privateJwk] },
 * })
 * app.get('/auth/login', auth.login())
 * app.all('/auth/callback', auth.callback())
 * app.get('/.well-known/jwks.json', auth.jwks())
 * ```
 * @see FAPI 2.0 Message Signing; RFC 9101 (JAR); RFC 9126 (PAR); JARM
 */
export function fapiClient(options: FapiClientOptions): FapiClient {
  return clientOf(createFapiCore(options), options.issuer)
}

/** Internal: the middlewares over a core made elsewhere (`fapiClients()`'s, which knows its set). */
export function clientOf(core: FapiCore, issuer: string): FapiClient {
  registerNamespace(core)
  const jwks = createJwksRoute(core)
  const currentLogin = (req: IncomingMessage) =>
    currentGrant(core, req).catch((error: unknown) => Promise.reject(toFapiError(error)))
  const grant = (grantId: string): GrantHandle =>
    Object.freeze({
      id: grantId,
      get: () => core.readGrant(grantId),
      fetchResource: (url: string, init?: ResourceRequestInit) =>
        core.fetchResource(grantId, url, init),
      userinfo: () => core.userinfo(grantId),
      refresh: () => core.refresh(grantId),
      end: () => core.endGrant(grantId),
    })
  return Object.freeze({
    router: <Req extends IncomingMessage, Res extends ServerResponse>(
      paths?: RouterPaths,
      routeOptions: {
        readonly login?: LoginOptions<Req>
        readonly callback?: LoginHandler<Req, Res> | CallbackOptions<Req, Res>
        readonly checkAtStartup?: StartupCheck
      } = {},
    ) => {
      const router = createRouter<Req, Res>(
        core,
        {
          login: createLogin<Req>(core, routeOptions.login),
          callback: createCallback<Req, Res>(core, routeOptions.callback),
          logout: createLogout(core),
          jwks,
          backchannelLogout: createBackchannelLogout([core]),
        },
        paths,
      )
      void runStartupCheck(core, issuer, routeOptions.checkAtStartup)
      return router
    },
    login: <Req extends IncomingMessage>(loginOptions?: LoginOptions<Req>) =>
      createLogin<Req>(core, loginOptions),
    startLogin: (req: IncomingMessage, res: ServerResponse, startOptions?: StartLoginOptions) =>
      startLoginWith(core, req, res, startOptions),
    currentLogin,
    isAuthenticated: async (req: IncomingMessage) => (await currentLogin(req)) !== undefined,
    grant,
    findGrants: (query: GrantQuery) => core.findGrants(query),
    callback: <Req extends IncomingMessage, Res extends ServerResponse>(
      handler?: LoginHandler<Req, Res> | CallbackOptions<Req, Res>,
    ) => createCallback(core, handler),
    jwks: () => jwks,
    updateKeys: (keys: FapiClientOptions['keys']) => core.updateKeys(keys),
    updateTls: (tls: TlsOptions) => core.updateTls(tls),
    backchannelLogout: () => createBackchannelLogout([core]),
    requiresAuth: (guardOptions?: RequiresAuthOptions) => createRequiresAuth(core, guardOptions),
    logout: () => createLogout(core),
    fetchResource: createFetchResource(core),
    refresh: createRefresh(core),
    userinfo: async (req: IncomingMessage) => {
      try {
        return await core.userinfo(grantIdOf(requireSession(req), core.sessionKey))
      } catch (error) {
        throw toFapiError(error)
      }
    },
    clientCredentials: async (request?: ClientCredentialsRequest) => {
      const token = await core.clientCredentials(request)
      return {
        accessToken: token.accessToken,
        tokenType: token.tokenType,
        expiresAt: token.expiresAt,
        scope: token.scope,
        ...(token.authorizationDetails === undefined
          ? {}
          : { authorizationDetails: token.authorizationDetails }),
      }
    },
    fetchAsClient: (url: string, init?: ResourceRequestInit, request?: ClientCredentialsRequest) =>
      core.fetchAsClient(url, init, request),
    ready: () => core.ready(),
    core,
  })
}
