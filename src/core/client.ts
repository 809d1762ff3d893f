/**
 * `createFapiCore()`: one FAPI client's whole protocol behind plain-data entry points, for the
 * middleware of this package and for adapters of other frameworks. It never sees a request or a
 * response object: an adapter reads the request into plain data, calls one entry point, and
 * writes what it returns (a redirect, a page, a record to keep in the session).
 *
 * @module
 */
import type { JWK } from 'jose'
import { isSafeRelativePath, resolveConfig, type FapiClientOptions } from '../config/index.js'
import type { TlsOptions } from '../config/options.js'
import { FapiError, toFapiError } from '../errors.js'
import type { ResourceRequestInit } from './server/resource.js'
import { handleCallback, type CallbackOutcome, type PendingLogins } from './flows/callback.js'
import { createClientContext } from './flows/context.js'
import type { Discovery } from './server/discovery.js'
import type { CallbackRequest } from './flows/delivery.js'
import { startLogin, type LoginRequest, type StartedLogin } from './flows/login.js'
import { commitLogin, endLogin, logoutTarget } from './flows/logout.js'
import { serveRequestObject } from './flows/request-uri.js'
import { claimedResponse, signedByServer, type ClaimedResponse } from './flows/mix-up.js'
import type { Page } from './flows/page.js'
import { revokeLogin, type RevocationOutcome } from './flows/revocation.js'
import { createRefresher } from './flows/refresh.js'
import { fetchUserinfo, type UserinfoResult } from './flows/userinfo.js'
import { callWithToken, fetchResourceAs, type ResourceResult } from './flows/resource.js'
import {
  createClientCredentials,
  type ClientCredentialsRequest,
  type ClientToken,
} from './flows/client-credentials.js'
import {
  isLoginOf,
  openLogin,
  sealLogin,
  trimmedLogin,
  type SessionLogin,
  type StoredLogin,
} from './flows/stored-login.js'

/** The userinfo claims, and the record to keep when the tokens were refreshed first. */
export interface UserinfoOutcome {
  readonly claims: UserinfoResult['claims']
  readonly refreshed: SessionLogin | undefined
}

/** A refreshed login: the record to keep, and its (unsealed) claims and tokens. */
export interface RefreshOutcome {
  /** The record to keep in the session, through {@link FapiCore.commitLogin}. */
  readonly record: SessionLogin
  readonly claims: StoredLogin['claims']
  readonly tokens: StoredLogin['tokens']
}

/** One FAPI client's protocol, framework-free. Every entry point rejects only with a `FapiError`. */
export interface FapiCore {
  /**
   * Starts a login: checks `returnTo`, creates the pending login and returns the session's new
   * map of pending logins (store it, and persist the session, before redirecting) and the
   * authorization URL (answer 303 with `Cache-Control: no-store`).
   */
  startLogin(request: LoginRequest): Promise<StartedLogin>
  /**
   * Handles a request to the callback (GET or POST at the redirect URI's path): resolves with a
   * page to send as it is (a relay page), or with a finished login whose `login` record the
   * adapter stores after regenerating the session.
   */
  handleCallback(request: CallbackRequest, pending: PendingLogins): Promise<CallbackOutcome>
  /**
   * The session's login record when it is a login of this client at this issuer (its tokens are
   * sealed in it when `sessionSecrets` is set).
   */
  currentLogin(stored: unknown): SessionLogin | undefined
  /**
   * A finished login's record with its claims trimmed by the app: only claims it had, with their
   * values, and the protocol claims (`iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`, `nonce`,
   * `acr`, `amr`, `azp`, `sid`) always.
   */
  trimLogin<L extends SessionLogin>(login: L, claims: Readonly<Record<string, unknown>>): L
  /** The issuer this client talks to (exactly as configured). */
  readonly issuer: string
  /**
   * What a callback request's response says of itself, unverified (`state`, `iss`, the JARM JWT):
   * for an app with several servers to find the transaction's server, never to accept anything.
   */
  claimedResponse(request: CallbackRequest): Promise<ClaimedResponse>
  /** Whether a JWT's signature verifies with a key of this client's server (nothing else). */
  signedByServer(jwt: string): Promise<boolean>
  /** The key of this client's part of the session (`sessionKey`). */
  readonly sessionKey: string
  /**
   * A client credentials token (RFC 6749 §4.4) for `request`, bound like the logins' (a DPoP key
   * of the client, or its certificate); cached until shortly before it expires, one request in
   * flight per parameter set.
   */
  clientCredentials(request?: ClientCredentialsRequest): Promise<ClientToken>
  /** Calls a resource server with a client credentials token for `request`. */
  fetchAsClient(
    url: string,
    init?: ResourceRequestInit,
    request?: ClientCredentialsRequest,
  ): Promise<Response>
  /** The paths this client's routes must be at: the login (`loginPath`) and the callback (`redirectUri`'s). */
  readonly paths: {
    readonly login: string
    readonly callback: string
    /** Where request objects by reference are served (a prefix), when they are. */
    readonly requestObjects: string | undefined
  }
  /**
   * Refreshes a stored login (one refresh in flight per login, across instances); keep the record
   * it resolves with through {@link FapiCore.commitLogin}.
   */
  refresh(stored: unknown): Promise<RefreshOutcome>
  /**
   * Calls a resource server with a stored login's token (refreshed once first when expired);
   * `refreshed`, when set, is the record to store.
   */
  fetchResource(stored: unknown, url: string, init?: ResourceRequestInit): Promise<ResourceResult>
  /**
   * Keeps a refreshed login record: calls `save` (which stores it in the session) unless the
   * login was logged out meanwhile on any instance (`ERR_LOGIN_REQUIRED`, nothing saved).
   */
  commitLogin(login: SessionLogin, save: () => Promise<void>): Promise<void>
  /**
   * Logs out: marks the session's login as ended for every instance, calls `destroy` (which ends
   * the local session), and resolves with where to send the browser.
   */
  logout(stored: unknown, destroy: () => Promise<void>): Promise<string>
  /** Where to send the browser after the local session ended (never rejects). */
  logoutTarget(stored: unknown): Promise<string>
  /**
   * Revokes a stored login's refresh and access tokens where the server has a
   * `revocation_endpoint` (RFC 7009); never rejects. Call it before the local session ends.
   */
  revokeTokens(stored: unknown): Promise<RevocationOutcome>
  /**
   * The userinfo claims of a stored login (OIDC Core §5.3), JSON or a signed (optionally
   * encrypted) JWT verified like an ID token, once their `sub` matched the ID token's (§5.3.4);
   * `refreshed`, when set, is the record to store.
   */
  userinfo(stored: unknown): Promise<UserinfoOutcome>
  /**
   * Where an anonymous page request is sent: the login route, with `returnTo` set to the page
   * (`url`, path and query) when the method is GET or HEAD and it is a path on this site.
   */
  loginRedirect(method: string, url: string): string
  /**
   * Answers the server's fetch of a request object by reference (RFC 9101 §5.2) at `path` (under
   * `requestObjectPath`): once, then `ERR_REQUEST_OBJECT_NOT_FOUND`.
   */
  requestObject(path: string): Promise<Page>
  /** The client's public keys (the body of its `jwks_uri`): the current ones, after any update. */
  publicJwks(): { readonly keys: readonly JWK[] }
  /**
   * Replaces the client's keys while running (key rotation); see {@link FapiClient.updateKeys}.
   *
   * @throws {FapiConfigError}
   */
  updateKeys(keys: FapiClientOptions['keys']): void
  /**
   * Replaces the TLS material while running (transport certificate rotation); see
   * {@link FapiClient.updateTls}.
   *
   * @throws {FapiConfigError}
   */
  updateTls(tls: TlsOptions): void
  /** Fetches discovery and the server's JWKS now (both are fetched on first use anyway). */
  ready(): Promise<void>
}

/** Failures that suggest the server's metadata changed (an endpoint moved, keys moved). */
const METADATA_SUSPECT: ReadonlySet<string> = new Set([
  'ERR_AS_UNREACHABLE',
  'ERR_AS_TIMEOUT',
  'ERR_AS_HTTP_STATUS',
  'ERR_JARM_KEY_NOT_FOUND',
  'ERR_ID_TOKEN_KEY_NOT_FOUND',
  'ERR_ENCRYPTION_KEY_NOT_FOUND',
])

/**
 * Rejections become `FapiError`s (anything unexpected is `ERR_INTERNAL`, its cause withheld); a
 * failure of something the metadata names makes discovery fetch it again (rate-limited).
 */
function guarded<A extends unknown[], R>(
  discovery: Discovery,
  run: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return (...args) =>
    run(...args).catch((error: unknown) => {
      const failure = toFapiError(error)
      if (METADATA_SUSPECT.has(failure.code)) discovery.stale()
      return Promise.reject(failure)
    })
}

/**
 * Creates the protocol core of one client. Throws a `FapiConfigError` at once on a configuration
 * mistake.
 *
 * @example
 * ```ts
 * import { createFapiCore } from 'express-fapi/core'
 * const core = createFapiCore({ issuer, clientId, redirectUri, keys: { signing: [jwk] } })
 * const { transactions, authorizationUrl } = await core.startLogin({ returnTo: [], transactions: {} })
 * ```
 * @see FAPI 2.0 Message Signing; RFC 9101 (JAR); RFC 9126 (PAR); JARM
 */
export function createFapiCore(options: FapiClientOptions): FapiCore {
  const config = resolveConfig(options)
  const context = createClientContext(config)
  const refreshStored = createRefresher(context)
  const idTokenOf = (stored: unknown) =>
    openLogin(stored, config).then(
      (login) => login.tokens.idToken,
      () => undefined,
    )
  const clientCredentials = createClientCredentials(context)
  const keys = () =>
    Object.freeze([
      ...config.keyRing.published(),
      ...(config.clientAuthMethod === 'self_signed_tls_client_auth' &&
      config.certificateJwk !== undefined
        ? [config.certificateJwk]
        : []),
    ])
  return Object.freeze({
    startLogin: guarded(context.discovery, (request: LoginRequest) => startLogin(context, request)),
    handleCallback: guarded(context.discovery, (request: CallbackRequest, pending: PendingLogins) =>
      handleCallback(context, request, pending),
    ),
    currentLogin: (stored: unknown) => (isLoginOf(stored, config) ? stored : undefined),
    trimLogin: trimmedLogin,
    issuer: config.issuer,
    claimedResponse: (request: CallbackRequest) => claimedResponse(context, request),
    signedByServer: (jwt: string) => signedByServer(context, jwt),
    sessionKey: config.sessionKey,
    paths: Object.freeze({
      login: config.loginPath,
      callback: config.redirectPath,
      requestObjects: config.requestObjectByReference ? config.requestObjectPath : undefined,
    }),
    requestObject: guarded(context.discovery, async (path: string) =>
      serveRequestObject(context, context.requestObjects, path),
    ),
    refresh: guarded(context.discovery, async (stored: unknown): Promise<RefreshOutcome> => {
      const login = await refreshStored(await openLogin(stored, config))
      return { record: await sealLogin(login, config), claims: login.claims, tokens: login.tokens }
    }),
    fetchResource: guarded(
      context.discovery,
      async (stored: unknown, url: string, init: ResourceRequestInit = {}) => {
        const login = await openLogin(stored, config)
        const result = await fetchResourceAs(context, refreshStored, login, url, init)
        const refreshed =
          result.refreshed === undefined ? undefined : await sealLogin(result.refreshed, config)
        return { response: result.response, refreshed }
      },
    ),
    clientCredentials: guarded(context.discovery, async (request?: ClientCredentialsRequest) =>
      clientCredentials(request),
    ),
    fetchAsClient: guarded(
      context.discovery,
      async (url: string, init: ResourceRequestInit = {}, request?: ClientCredentialsRequest) => {
        if (init.fapiAuthDate === true) {
          throw new FapiError(
            'ERR_RESOURCE_REQUEST_INVALID',
            'resource request: fapiAuthDate needs a user login; a client token has none (pass the x-fapi-auth-date header)',
          )
        }
        return callWithToken(context, await clientCredentials(request), url, init)
      },
    ),
    userinfo: guarded(context.discovery, async (stored: unknown) => {
      const result = await fetchUserinfo(context, refreshStored, await openLogin(stored, config))
      const refreshed =
        result.refreshed === undefined ? undefined : await sealLogin(result.refreshed, config)
      return { claims: result.claims, refreshed }
    }),
    commitLogin: guarded(context.discovery, (login: SessionLogin, save: () => Promise<void>) =>
      commitLogin(context, login, save),
    ),
    revokeTokens: async (stored: unknown) =>
      revokeLogin(context, await openLogin(stored, config).catch(() => undefined)),
    logout: guarded(context.discovery, async (stored: unknown, destroy: () => Promise<void>) => {
      const target = await idTokenOf(stored).then((idToken) => logoutTarget(context, idToken))
      await endLogin(context, isLoginOf(stored, config) ? stored : undefined, destroy)
      return target
    }),
    logoutTarget: async (stored: unknown) => logoutTarget(context, await idTokenOf(stored)),
    loginRedirect(method: string, url: string) {
      if ((method === 'GET' || method === 'HEAD') && isSafeRelativePath(url)) {
        return `${config.loginPath}?${new URLSearchParams({ returnTo: url }).toString()}`
      }
      return config.loginPath
    },
    publicJwks: () => ({ keys: keys() }),
    updateKeys: (keys: FapiClientOptions['keys']) => config.keyRing.update(keys),
    updateTls: (tls: TlsOptions) => config.updateTls(tls),
    ready: guarded(context.discovery, async () => {
      await context.discovery.get()
      await context.jwks.load()
    }),
  })
}
