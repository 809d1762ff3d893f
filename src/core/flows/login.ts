/**
 * The first half of a login as a plain async function over plain data: a new transaction (state,
 * nonce, PKCE verifier, and a DPoP key when tokens are DPoP-bound), the authorization parameters
 * (in a signed, possibly encrypted, request object, or as they are), pushed to the PAR endpoint or
 * put in the URL, and the URL to send the browser to. Framework-free: an adapter only moves data
 * between this and the request, the session and the response.
 *
 * @module
 */
import type { ResponseMode } from '../../config/index.js'
import { FapiError, ServerResponseError } from '../../errors.js'
import { failureOf, log } from '../log.js'
import { addClientAuthentication, usesClientCertificate } from '../server/client-auth.js'
import type { ServerMetadata } from '../server/discovery.js'
import { createDpopKey, dpopThumbprint } from '../jwt/dpop.js'
import { encryptToServer } from '../jwt/encryption.js'
import { signRequestObject } from '../jwt/jar.js'
import { pushAuthorizationRequest } from '../server/par.js'
import { randomToken } from '../jwt/random.js'
import { dpopContext, type ClientContext } from './context.js'
import { checkLoginParams, expectationsOf, type AuthorizationParams } from './login-params.js'
import { createPkce } from './pkce.js'
import { publishRequestObject } from './request-uri.js'
import { checkDetailTypes } from '../server/authorization-details.js'
import { emit, redactedUrl, tracedJwt, tracing } from './trace.js'
import { returnToOf } from './return-to.js'
import {
  addTransaction,
  sealTransaction,
  type Transaction,
  type TransactionMap,
} from './transaction.js'

/** A started authorization: the transaction to keep and where to send the browser. */
export interface StartedAuthorization {
  readonly transaction: Transaction
  readonly authorizationUrl: string
}

/** A form value: strings as they are, anything else (e.g. `claims`) as JSON. */
function formValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** The request object: signed (JAR), then encrypted to the server's `use: enc` key if asked. */
async function requestObject(
  context: ClientContext,
  metadata: ServerMetadata,
  params: Readonly<Record<string, unknown>>,
): Promise<string> {
  const { config } = context
  const key = metadata.signingKey
  if (key === undefined) throw new TypeError('request objects need a signing key')
  const jws = await signRequestObject({
    params,
    clientId: config.clientId,
    issuer: config.issuer,
    key,
    now: config.now(),
    lifetime: config.requestObjectLifetime,
  })
  const encryption = metadata.requestObjectEncryption
  if (encryption === undefined) return jws
  const recipient = await context.jwks.encryptionKey(encryption.algorithms)
  if (recipient === undefined) {
    throw new ServerResponseError(
      'ERR_ENCRYPTION_KEY_NOT_FOUND',
      `the server's JWKS has no key with use "enc" for ${encryption.algorithms.join(', ')}, to encrypt request objects to`,
    )
  }
  return encryptToServer(jws, { ...recipient, enc: encryption.enc })
}

/**
 * Creates a transaction and its authorization parameters and returns the URL of the
 * authorization endpoint: with PAR, only `client_id` and `request_uri` (FAPI 2.0 §5.3.3.2 (6));
 * by value, `client_id`, `response_type`, `scope` and `request` (FAPI 1.0 Advanced §5.2.3 (9));
 * without a request object (profile `oidc` only), the parameters themselves.
 */
export async function startAuthorization(
  context: ClientContext,
  returnTo: string,
  perLogin: PerLogin = { params: {} },
): Promise<StartedAuthorization> {
  const { config } = context
  const responseMode = perLogin.responseMode ?? config.responseMode
  const merged: AuthorizationParams = { ...config.authorizationParams, ...perLogin.params }
  const expects = expectationsOf(merged)
  const traceId = tracing(context) ? randomToken().slice(0, 16) : undefined
  const metadata = await context.discovery.get()
  emit(context, () => ({
    type: 'login.started',
    traceId,
    at: config.now(),
    responseMode,
    parameters: Object.keys(perLogin.params),
    // What the ID token is held to; never the intent ids or details asked for (not public).
    expects: {
      ...(expects.maxAge === undefined ? {} : { maxAge: expects.maxAge }),
      ...(expects.acr === undefined ? {} : { acr: expects.acr }),
    },
  }))
  emit(context, () => ({
    type: 'metadata',
    traceId,
    at: config.now(),
    issuer: config.issuer,
    authorizationEndpoint: metadata.authorizationEndpoint,
    parEndpoint: config.par ? metadata.parEndpoint : undefined,
    tokenEndpoint: metadata.tokenEndpoint,
  }))
  // RFC 9396 §10: only types the server lists; nothing is sent otherwise.
  if (expects.authorizationDetails !== undefined) {
    checkDetailTypes(expects.authorizationDetails, metadata.authorizationDetailsTypes)
  }
  const pkce = createPkce()
  const dpopKey =
    metadata.dpopAlgorithm === undefined ? undefined : await createDpopKey(metadata.dpopAlgorithm)
  const transaction: Transaction = {
    state: randomToken(),
    nonce: randomToken(),
    codeVerifier: pkce.codeVerifier,
    redirectUri: config.redirectUri,
    responseMode,
    issuer: config.issuer,
    clientId: config.clientId,
    returnTo,
    createdAt: config.now(),
    ...(dpopKey === undefined ? {} : { dpopKey }),
    ...(expects.maxAge === undefined ? {} : { maxAge: expects.maxAge }),
    ...(expects.acr === undefined ? {} : { acr: expects.acr }),
    ...(traceId === undefined ? {} : { traceId }),
    ...(expects.authorizationDetails === undefined
      ? {}
      : { authorizationDetails: expects.authorizationDetails }),
    ...(expects.claimValues === undefined ? {} : { claimValues: expects.claimValues }),
  }
  const params: Record<string, unknown> = {
    ...merged,
    client_id: config.clientId,
    response_type: 'code',
    // A plain response uses the default of response_type=code, `query`: nothing to ask for.
    ...(config.jarm ? { response_mode: responseMode } : {}),
    redirect_uri: config.redirectUri,
    scope: config.scope,
    state: transaction.state,
    nonce: transaction.nonce,
    code_challenge: pkce.codeChallenge,
    code_challenge_method: 'S256',
    // RFC 9449 §10: the code is bound to this login's DPoP key.
    ...(dpopKey === undefined ? {} : { dpop_jkt: await dpopThumbprint(dpopKey) }),
  }
  const request = config.requestObject ? await requestObject(context, metadata, params) : undefined
  if (request !== undefined) {
    emit(context, () => ({
      type: 'request-object',
      traceId,
      at: config.now(),
      ...tracedJwt(request),
    }))
  }
  const url = new URL(metadata.authorizationEndpoint)
  url.searchParams.set('client_id', config.clientId)
  if (config.par) {
    const fields: [string, string][] =
      request === undefined
        ? Object.entries(params).map(([name, value]): [string, string] => [name, formValue(value)])
        : [['request', request]]
    const parEndpoint = metadata.parEndpoint as string
    const started = performance.now()
    const pushed = await pushAuthorizationRequest(
      parEndpoint,
      () =>
        addClientAuthentication(
          new URLSearchParams(fields),
          config,
          metadata.signingKey,
          parEndpoint,
        ),
      {
        httpTimeout: config.httpTimeout,
        maxResponseBytes: config.maxResponseBytes,
        agents: config.agents,
        httpTimer: config.httpTimer,
        dpop: dpopContext(context, dpopKey),
        clientCertificate: usesClientCertificate(config.clientAuthMethod),
      },
    )
    log.login('PAR accepted the request (expires_in %d s)', pushed.expiresIn)
    emit(context, () => ({
      type: 'par',
      traceId,
      at: config.now(),
      endpoint: parEndpoint,
      status: 201,
      expiresIn: pushed.expiresIn,
      durationMs: Math.round(performance.now() - started),
    }))
    url.searchParams.set('request_uri', pushed.requestUri)
  } else if (request !== undefined) {
    // FAPI 1.0 Adv §5.2.3 (9), OIDC Core §6.1, §6.2: the duplicates beside the request object.
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('scope', config.scope)
    if (config.requestObjectByReference) {
      // RFC 9101 §5.2: the server fetches it from the app, once; the browser never carries it.
      url.searchParams.set(
        'request_uri',
        await publishRequestObject(context, context.requestObjects, request),
      )
    } else {
      url.searchParams.set('request', request)
    }
  } else {
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, formValue(value))
  }
  log.login(
    'login started: mode %s, %s, %d per-login parameters%s%s',
    responseMode,
    config.par
      ? 'pushed (PAR)'
      : request === undefined
        ? 'in the URL'
        : config.requestObjectByReference
          ? 'request object by reference'
          : 'request object by value',
    Object.keys(perLogin.params).length,
    expects.maxAge === undefined ? '' : ', max_age enforced',
    expects.acr === undefined ? '' : ', essential acr enforced',
  )
  emit(context, () => ({
    type: 'authorization-redirect',
    traceId,
    at: config.now(),
    url: redactedUrl(url.href),
  }))
  return { transaction, authorizationUrl: url.href }
}

/** What one login asks for beyond the configuration. */
export interface PerLogin {
  /** Checked per-login authorization parameters (see `checkLoginParams`). */
  readonly params: AuthorizationParams
  /** One of the configured `responseModes`. */
  readonly responseMode?: ResponseMode
}

/** The per-login part of a login request, checked. */
function perLoginOf(context: ClientContext, request: LoginRequest): PerLogin {
  const params = checkLoginParams(request.authorizationParams)
  const mode = request.responseMode
  if (mode === undefined) return { params }
  if (!context.config.responseModes.includes(mode as ResponseMode)) {
    throw new FapiError(
      'ERR_RESPONSE_MODE_NOT_ALLOWED',
      `response mode "${String(mode).slice(0, 40)}" is not one of this client's responseModes (${context.config.responseModes.join(', ')})`,
    )
  }
  return { params, responseMode: mode as ResponseMode }
}

/** What an adapter hands to {@link FapiCore.startLogin}. */
export interface LoginRequest {
  /** Every `returnTo` value of the login request's query, as sent (none, one, or a repeated one). */
  readonly returnTo: readonly string[]
  /** The session's pending logins, as stored (untrusted: entries are checked). */
  readonly transactions: unknown
  /**
   * Authorization parameters of this login (`acr_values`, `claims`, `login_hint`, `max_age`,
   * `authorization_details`, …), sent inside the request object or pushed request like the static
   * ones; the library's own (`state`, `nonce`, …) are refused (`ERR_AUTHORIZATION_PARAM_RESERVED`).
   */
  readonly authorizationParams?: unknown
  /** The response mode of this login: one of `responseModes` (`ERR_RESPONSE_MODE_NOT_ALLOWED`). */
  readonly responseMode?: unknown
}

/** What the adapter keeps and where it sends the browser (303, `Cache-Control: no-store`). */
export interface StartedLogin {
  /** The session's new map of pending logins, the new one included: store it before redirecting. */
  readonly transactions: TransactionMap
  readonly authorizationUrl: string
  /** The new pending login (its `state` is the key in `transactions`). */
  readonly transaction: Transaction
  /** Seconds the pending login stays valid: a session that holds only it need not live longer. */
  readonly pendingLoginMaxAge: number
}

/**
 * Starts a login: a checked `returnTo` (no open redirector: RFC 9700 §4.11), a new transaction
 * added to the session's (bounded in count and age), and the authorization URL.
 */
export async function startLogin(
  context: ClientContext,
  request: LoginRequest,
): Promise<StartedLogin> {
  const { config } = context
  let started: StartedAuthorization
  try {
    const returnTo = returnToOf(request.returnTo, config)
    started = await startAuthorization(context, returnTo, perLoginOf(context, request))
  } catch (error) {
    log.login('login not started: %s', failureOf(error))
    throw error
  }
  const current =
    typeof request.transactions === 'object' && request.transactions !== null
      ? (request.transactions as TransactionMap)
      : undefined
  return {
    transactions: addTransaction(
      current,
      await sealTransaction(started.transaction, config.sessionSecrets),
      {
        max: config.maxPendingLogins,
        maxAgeMs: config.pendingLoginMaxAge * 1000,
        now: config.now(),
      },
    ),
    authorizationUrl: started.authorizationUrl,
    transaction: started.transaction,
    pendingLoginMaxAge: config.pendingLoginMaxAge,
  }
}
