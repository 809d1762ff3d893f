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
import { logoutIncomplete, logoutTarget } from './flows/logout.js'
import { backchannelLogout } from './flows/backchannel-logout.js'
import { serveRequestObject } from './flows/request-uri.js'
import {
  claimedResponse,
  signedByServer,
  type ClaimedResponse,
  type ServerSet,
} from './flows/mix-up.js'
import type { Page } from './flows/page.js'
import type { RevocationOutcome } from './flows/revocation.js'
import { createRefresher } from './flows/refresh.js'
import { fetchUserinfo } from './flows/userinfo.js'
import { callWithToken, fetchResourceAs } from './flows/resource.js'
import {
  createClientCredentials,
  type ClientCredentialsRequest,
  type ClientToken,
} from './flows/client-credentials.js'
import type { GrantQuery } from '../config/grants.js'
import { trimmedGrant } from './grants/grant.js'
import { activeGrant, createGrant, endGrant, readGrant } from './grants/lifecycle.js'
import type { ActiveGrant, Grant } from './grants/record.js'

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
   * page to send as it is (a relay page), or with a finished login whose `grant` the adapter
   * keeps with {@link FapiCore.saveGrant} after regenerating the session, then refers to by id.
   */
  handleCallback(request: CallbackRequest, pending: PendingLogins): Promise<CallbackOutcome>
  /**
   * Stores a finished login's grant (with `owner`, when the app has one) in the grant store;
   * resolves with it. The session keeps only its `id`.
   */
  saveGrant(grant: ActiveGrant, owner?: string): Promise<ActiveGrant>
  /**
   * The active grant `grantId` of this client at this issuer (read from the grant store: a
   * logout on any instance is seen at once), or `undefined`.
   */
  currentGrant(grantId: unknown): Promise<ActiveGrant | undefined>
  /** The grant `grantId` of this client, active or ended, or `undefined`. */
  readGrant(grantId: unknown): Promise<Grant | undefined>
  /** The ids of this client's grants (active or ended) that match `query`. */
  findGrants(query: GrantQuery): Promise<readonly string[]>
  /**
   * A finished login's grant with its claims trimmed by the app: only claims it had, with their
   * values, and the protocol claims (`iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`, `nonce`,
   * `acr`, `amr`, `azp`, `sid`) always.
   */
  trimGrant(grant: ActiveGrant, claims: Readonly<Record<string, unknown>>): ActiveGrant
  /** The issuer this client talks to (exactly as configured). */
  readonly issuer: string
  /** Its name in the app's set of servers (`createFapiCore(options, set)`), or `undefined`. */
  readonly name: string | undefined
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
   * Refreshes the grant `grantId` (one refresh in flight per grant, across instances; kept by a
   * compare-and-set on its generation); resolves with the grant as stored after it.
   */
  refresh(grantId: unknown): Promise<ActiveGrant>
  /** Calls a resource server with the grant's token (refreshed once first when expired). */
  fetchResource(grantId: unknown, url: string, init?: ResourceRequestInit): Promise<Response>
  /**
   * Ends the grant `grantId` for every instance (status `ended` in the grant store), then revokes
   * its tokens where the server has a `revocation_endpoint` (RFC 7009). Rejects only when the
   * grant store cannot be used.
   */
  endGrant(grantId: unknown): Promise<RevocationOutcome>
  /**
   * Logs out: ends the grant (and revokes its tokens), calls `destroy` (which ends the local
   * session; also when the grant store is down), and resolves with where to send the browser.
   * When a grant could not be ended because the grant store could not be used (this one, or one
   * of `unended`: the issuers of the session's other grants the adapter could not end), the
   * session still ends, then the call rejects with `ERR_GRANT_STORE_UNAVAILABLE` (503): a
   * logout never reports success while a grant is usable.
   */
  logout(
    grantId: unknown,
    destroy: () => Promise<void>,
    unended?: readonly string[],
  ): Promise<string>
  /** Where to send the browser after the local session ended (never rejects). */
  logoutTarget(grantId: unknown): Promise<string>
  /**
   * Handles a back-channel logout token of this client's server (OpenID Connect Back-Channel
   * Logout 1.0 §2.6, checked in order): ends every grant it names on every instance; resolves
   * with how many. Rejects with an `ERR_LOGOUT_TOKEN_*` code (answer 400).
   */
  backchannelLogout(logoutToken: string): Promise<number>
  /**
   * The userinfo claims of a grant (OIDC Core §5.3), JSON or a signed (optionally encrypted) JWT
   * verified like an ID token, once their `sub` matched the ID token's (§5.3.4).
   */
  userinfo(grantId: unknown): Promise<Readonly<Record<string, unknown>>>
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
   * Replaces the client's keys while running (key rotation); see `FapiClient.updateKeys()` of `express-fapi`.
   *
   * @throws {FapiConfigError}
   */
  updateKeys(keys: FapiClientOptions['keys']): void
  /**
   * Replaces the TLS material while running (transport certificate rotation); see
   * `FapiClient.updateTls()` of `express-fapi`.
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
 * mistake. An app that talks to several servers gives each core its {@link ServerSet} (its name
 * and the other servers): every callback then refuses another configured server's response as
 * `ERR_MIX_UP_DETECTED` (RFC 9700 §4.4), and a finished login names its server.
 *
 * @example
 * ```ts
 * import { createFapiCore } from 'express-fapi/core'
 * const core = createFapiCore({ issuer, clientId, redirectUri, keys: { signing: [jwk] } })
 * const { transactions, authorizationUrl } = await core.startLogin({ returnTo: [], transactions: {} })
 * ```
 * @see FAPI 2.0 Message Signing; RFC 9101 (JAR); RFC 9126 (PAR); JARM
 */
export function createFapiCore(options: FapiClientOptions, set?: ServerSet): FapiCore {
  const config = resolveConfig(options)
  const context = createClientContext(config)
  const refreshGrant = createRefresher(context)
  const idTokenOf = (grantId: unknown) =>
    activeGrant(context, grantId).then(
      (grant) => grant.tokens.idToken,
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
      handleCallback(context, request, pending, set),
    ),
    saveGrant: guarded(context.discovery, (grant: ActiveGrant, owner?: string) =>
      createGrant(context, owner === undefined ? grant : { ...grant, owner }),
    ),
    currentGrant: guarded(context.discovery, async (grantId: unknown) => {
      const grant = await readGrant(context, grantId)
      return grant?.status === 'active' ? grant : undefined
    }),
    readGrant: guarded(context.discovery, (grantId: unknown) => readGrant(context, grantId)),
    findGrants: guarded(context.discovery, async (query: GrantQuery) => {
      const found: string[] = []
      for (const id of await context.grants.find(query)) {
        if ((await readGrant(context, id)) !== undefined) found.push(id)
      }
      return found
    }),
    trimGrant: trimmedGrant,
    issuer: config.issuer,
    name: set?.name,
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
    refresh: guarded(context.discovery, async (grantId: unknown) =>
      refreshGrant(await activeGrant(context, grantId)),
    ),
    fetchResource: guarded(
      context.discovery,
      async (grantId: unknown, url: string, init: ResourceRequestInit = {}) =>
        fetchResourceAs(context, refreshGrant, await activeGrant(context, grantId), url, init),
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
    userinfo: guarded(context.discovery, async (grantId: unknown) =>
      fetchUserinfo(context, refreshGrant, await activeGrant(context, grantId)),
    ),
    endGrant: guarded(context.discovery, (grantId: unknown) => endGrant(context, grantId)),
    logout: guarded(
      context.discovery,
      async (grantId: unknown, destroy: () => Promise<void>, unended: readonly string[] = []) => {
        const target = await idTokenOf(grantId).then((idToken) => logoutTarget(context, idToken))
        // RFC 7009: the grant ends and its tokens are revoked first; a store or server failure
        // never keeps the user logged in here.
        const stillActive = [...unended]
        await endGrant(context, grantId).catch(() => stillActive.push(config.issuer))
        await destroy()
        if (stillActive.length > 0) throw logoutIncomplete(stillActive)
        return target
      },
    ),
    logoutTarget: async (grantId: unknown) => logoutTarget(context, await idTokenOf(grantId)),
    backchannelLogout: guarded(context.discovery, (logoutToken: string) =>
      backchannelLogout(context, logoutToken),
    ),
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
