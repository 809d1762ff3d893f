/**
 * The second half of a login over plain data, in the order of DESIGN.md: only the requested
 * response mode is accepted (a plain `?code=` where JARM was requested is a downgrade); the
 * response is verified before anything in it is used (a JARM JWT, decrypted first if it is a JWE;
 * or, in plain `query` mode, its RFC 9207 `iss`); a response that came without the session cookie
 * (`form_post.jwt`) or in the fragment (`fragment.jwt`) is answered once with a same-origin relay
 * page; the pending login for its `state` is taken (single use, persisted) before the code is
 * redeemed (with the login's DPoP key or the client certificate); the ID token is validated. The
 * adapter then regenerates the session and stores the login record.
 *
 * @module
 */
import {
  AuthorizationError,
  AuthorizationResponseError,
  IdTokenError,
  SessionError,
  toFapiError,
} from '../../errors.js'
import { failureOf, log } from '../log.js'
import { addClientAuthentication } from '../server/client-auth.js'
import type { ServerMetadata } from '../server/discovery.js'
import { signedIdToken, validateIdToken, type IdTokenClaims } from '../jwt/id-token.js'
import { verifyJarmResponse, type AuthorizationResponse } from '../jwt/jarm.js'
import { requestTokens, tokenRequestForm, type TokenSet } from '../server/token.js'
import { checkGrantedDetails, sameJson } from '../server/authorization-details.js'
import { serverJwtContext, tokenEndpointOptions, type ClientContext } from './context.js'
import { CARRIER, readDelivery, type CallbackRequest, type Delivery } from './delivery.js'
import type { Page } from './page.js'
import { checkPlainResponse } from './plain-response.js'
import { mixUpDetected, mixUpOrFailure, otherServerWithIssuer, type ServerSet } from './mix-up.js'
import { formPostRelayPage, fragmentRelayPage, needsFormPostRelay } from './relay.js'
import { grantOfLogin } from '../grants/grant.js'
import type { ActiveGrant } from '../grants/record.js'
import { keyOf } from '../coordination/store.js'
import { emit, redacted, tracedJwt } from './trace.js'
import { openTransaction, type Transaction } from './transaction.js'

/** A verified authorization response and the metadata it was checked against. */
export interface VerifiedResponse {
  readonly metadata: ServerMetadata
  readonly response: AuthorizationResponse
}

/**
 * Verifies a JARM `response` value; nothing inside it is used before this succeeds. A response
 * that fails because it is another configured server's (its `iss` or its keys) is
 * `ERR_MIX_UP_DETECTED` (RFC 9700 §4.4).
 */
export async function verifyAuthorizationResponse(
  context: ClientContext,
  response: string,
  set?: ServerSet,
): Promise<VerifiedResponse> {
  const { config } = context
  const metadata = await context.discovery.get()
  const verified = await verifyJarmResponse(response, {
    ...serverJwtContext(context, metadata.jarmAlgorithms),
    decryption: {
      keys: config.encryptionKeys,
      required: config.encryption.authorizationResponse,
    },
  }).catch(async (failure: unknown) => {
    throw await mixUpOrFailure(context, set, response, failure)
  })
  return { metadata, response: verified }
}

/**
 * Checks a plain authorization response (RFC 9207 §2.4): `iss` first, required when the server
 * promises it (FAPI 2.0 servers must), another configured server's is `ERR_MIX_UP_DETECTED`; an
 * error without `iss` is thrown as unverified.
 */
export async function verifyPlainResponse(
  context: ClientContext,
  params: URLSearchParams,
  set?: ServerSet,
): Promise<VerifiedResponse> {
  const metadata = await context.discovery.get()
  const response = checkPlainResponse(params, {
    issuer: context.config.issuer,
    issRequired: metadata.issParameter,
    mixUp: (iss) => {
      const other = otherServerWithIssuer(context, set, iss)
      return other === undefined || set === undefined
        ? undefined
        : mixUpDetected(set.name, other, 'iss')
    },
  })
  return { metadata, response }
}

/** A finished login. */
export interface CompletedLogin {
  readonly claims: IdTokenClaims
  readonly tokens: TokenSet
}

/**
 * Finishes a login whose response was verified and whose transaction was taken: an error inside
 * the response becomes an {@link AuthorizationError}; otherwise the code is redeemed with the
 * transaction's verifier, redirect URI and DPoP key, and the ID token validated against its nonce.
 */
export async function completeAuthorization(
  context: ClientContext,
  metadata: ServerMetadata,
  response: AuthorizationResponse,
  transaction: Transaction,
): Promise<CompletedLogin> {
  const { config } = context
  if (response.error !== undefined) {
    throw new AuthorizationError(response.error, response.errorDescription)
  }
  const traceId = transaction.traceId
  const started = performance.now()
  const tokens = await requestTokens(
    metadata.tokenEndpoint,
    () =>
      addClientAuthentication(
        tokenRequestForm({
          code: response.code,
          redirectUri: transaction.redirectUri,
          codeVerifier: transaction.codeVerifier,
        }),
        config,
        metadata.signingKey,
        metadata.tokenEndpoint,
      ),
    tokenEndpointOptions(context, transaction.dpopKey, config.scope),
  ).catch((error: unknown) => {
    log.token('code exchange failed: %s', failureOf(error))
    throw error
  })
  log.token(
    'code exchanged: token_type %s, %s',
    tokens.tokenType,
    tokens.refreshToken === undefined ? 'no refresh token' : 'with a refresh token',
  )
  emit(context, () => ({
    type: 'token-response',
    traceId,
    at: config.now(),
    endpoint: metadata.tokenEndpoint,
    durationMs: Math.round(performance.now() - started),
    response: redacted({
      access_token: tokens.accessToken,
      token_type: tokens.tokenType,
      id_token: tokens.idToken,
      scope: tokens.scope,
      ...(tokens.expiresAt === undefined
        ? {}
        : { expires_in: Math.round((tokens.expiresAt - config.now()) / 1000) }),
      ...(tokens.refreshToken === undefined ? {} : { refresh_token: tokens.refreshToken }),
    }),
  }))
  // The signed ID token: what the app can read, and what RP-Initiated Logout §2 wants as
  // `id_token_hint` (an encrypted one must be decrypted first).
  const idToken = await signedIdToken(tokens.idToken, {
    keys: config.encryptionKeys,
    required: config.encryption.idToken,
  })
  const claims = await validateIdToken(idToken, {
    ...serverJwtContext(context, metadata.idTokenAlgorithms),
    nonce: transaction.nonce,
    accessToken: tokens.accessToken,
    ...(transaction.maxAge === undefined ? {} : { maxAge: transaction.maxAge }),
    ...(transaction.acr === undefined ? {} : { acr: transaction.acr }),
    iatMaxAge: config.idTokenMaxAge,
  })
  // RFC 9396 §7: what was granted, held to what was asked for (grantedAuthorizationDetails).
  if (transaction.authorizationDetails !== undefined) {
    checkGrantedDetails(
      tokens.authorizationDetails,
      transaction.authorizationDetails,
      config.grantedAuthorizationDetails,
    )
  }
  // OIDC Core §5.5.1: an essential claim asked for with a value (an intent id) has that value.
  for (const [name, value] of Object.entries(transaction.claimValues ?? {})) {
    if (!sameJson(claims[name], value)) {
      throw new IdTokenError(
        'ERR_ID_TOKEN_CLAIM_VALUE_MISMATCH',
        `ID token: "${name.slice(0, 64)}" was requested as essential with a value, and the ID token ${claims[name] === undefined ? 'does not carry it' : 'carries another value'} (OIDC Core §5.5.1)`,
      )
    }
  }
  emit(context, () => ({
    type: 'id-token',
    traceId,
    at: config.now(),
    ...tracedJwt(idToken),
  }))
  return { claims, tokens: { ...tokens, idToken } }
}

/**
 * The session's pending logins, as the adapter holds them: {@link FapiCore.handleCallback} reads
 * whether one exists (the form_post relay decision) and takes the one its response names.
 */
export interface PendingLogins {
  /** Whether the session has a pending login for `state`. */
  has(state: string): boolean
  /**
   * Removes the pending login of `state` from the session and persists the session before
   * resolving (single use also when the token request then fails); resolves with the entry as it
   * was stored (untrusted), or `undefined` when there is none.
   */
  take(state: string): Promise<unknown>
}

/** What {@link FapiCore.handleCallback} ends with: a page to send as it is, or a finished login. */
export type CallbackOutcome =
  | { readonly kind: 'page'; readonly page: Page }
  | {
      readonly kind: 'login'
      readonly claims: IdTokenClaims
      readonly tokens: TokenSet
      readonly returnTo: string
      /** The grant of this login, not stored yet (the app's `beforeSession` may trim or refuse it). */
      readonly grant: ActiveGrant
      /** The id of this login in `onEvent` events, when a trace is taken. */
      readonly traceId?: string
      /** The server's name in the app's set (see {@link ServerSet}), when it has one. */
      readonly server?: string
    }

function transactionNotFound(): SessionError {
  return new SessionError(
    'ERR_TRANSACTION_NOT_FOUND',
    'no pending login in this session matches the response "state" (used already, or started in another browser)',
  )
}

/**
 * Takes the pending login of `state` (single use), then checks it: no instance has consumed the
 * state already (parallel delivery; the coordination store's atomic claim), it was made by this client for this redirect URI and
 * mode, and it is not too old.
 */
async function takeTransaction(
  context: ClientContext,
  pending: PendingLogins,
  state: string,
  delivery: Delivery,
): Promise<Transaction> {
  const { config } = context
  const taken = await pending.take(state)
  if (taken === undefined) throw transactionNotFound()
  // The session is a copy per request (and several instances share the store): a parallel
  // delivery of the same response is stopped here, by the one claim of its state that succeeds.
  const claimed = await context.coordination.claim(
    keyOf('state', state),
    config.pendingLoginMaxAge * 1000 + 60_000,
  )
  if (!claimed) throw transactionNotFound()
  const found = await openTransaction(taken, config.sessionSecrets)
  if (
    found === undefined ||
    found.issuer !== config.issuer ||
    found.clientId !== config.clientId ||
    found.redirectUri !== config.redirectUri
  ) {
    throw transactionNotFound()
  }
  // The response came the way this login asked for it (its mode, one of responseModes).
  const mode = found.responseMode as keyof typeof CARRIER
  if (
    !config.responseModes.includes(mode) ||
    (delivery.kind === 'response' && (CARRIER[mode] === 'query') !== (delivery.method === 'GET'))
  ) {
    throw new AuthorizationResponseError(
      'ERR_RESPONSE_MODE_MISMATCH',
      'the response arrived in another mode than the one requested',
    )
  }
  if (config.now() - found.createdAt > config.pendingLoginMaxAge * 1000) {
    throw new SessionError(
      'ERR_TRANSACTION_EXPIRED',
      'the pending login is older than pendingLoginMaxAge',
    )
  }
  return found
}

/**
 * Handles a request to the callback: a relay page to send, or a finished login whose record the
 * adapter stores after regenerating the session. Rejects with a `FapiError`.
 */
export async function handleCallback(
  context: ClientContext,
  request: CallbackRequest,
  pending: PendingLogins,
  set?: ServerSet,
): Promise<CallbackOutcome> {
  let traceId: string | undefined
  try {
    const outcome = await callbackOutcome(context, request, pending, set, (id) => {
      traceId = id
    })
    if (outcome.kind === 'login') {
      log.callback('login completed')
      emit(context, () => ({
        type: 'login.completed',
        traceId,
        at: context.config.now(),
        returnTo: outcome.returnTo,
      }))
    }
    return outcome
  } catch (error) {
    const failure = toFapiError(error)
    log.callback('login failed: %s', failureOf(failure))
    emit(context, () => ({
      type: 'login.failed',
      traceId,
      at: context.config.now(),
      code: failure.code,
      status: failure.status,
    }))
    throw failure
  }
}

async function callbackOutcome(
  context: ClientContext,
  request: CallbackRequest,
  pending: PendingLogins,
  set: ServerSet | undefined,
  found: (traceId: string | undefined) => void,
): Promise<CallbackOutcome> {
  const { config } = context
  // FAPI 1.0 Baseline §5.2.3 (4): the response arrives at the redirect URI it was requested for.
  if (request.path !== config.redirectPath) {
    throw new AuthorizationResponseError(
      'ERR_REDIRECT_URI_MISMATCH',
      `the callback is mounted at another path than redirectUri's "${config.redirectPath}"`,
    )
  }
  const delivery = await readDelivery(request, config)
  if (delivery.kind === 'fragment') {
    log.callback('fragment.jwt: answering with the fragment relay page')
    return { kind: 'page', page: fragmentRelayPage(config) }
  }
  // Verified before it is relayed: the relay page only ever repeats what the server signed.
  // Another configured server's response is a mix-up here, whatever the path or the adapter.
  const verified =
    delivery.kind === 'plain'
      ? await verifyPlainResponse(context, delivery.params, set)
      : await verifyAuthorizationResponse(context, delivery.response, set)
  log.callback(
    'authorization response verified (%s)',
    delivery.kind === 'plain' ? 'plain, RFC 9207 iss' : 'JARM',
  )
  const { state } = verified.response
  if (
    delivery.kind === 'response' &&
    config.responseModes.includes('form_post.jwt') &&
    needsFormPostRelay(
      delivery.method,
      request.header('sec-fetch-site'),
      delivery.relayed,
      pending.has(state),
    )
  ) {
    log.callback('cross-site form POST without a pending login: relaying once from this origin')
    return { kind: 'page', page: formPostRelayPage(config, delivery.response) }
  }
  const transaction = await takeTransaction(context, pending, state, delivery)
  found(transaction.traceId)
  log.callback('pending login taken (mode %s)', transaction.responseMode)
  emit(context, () => ({
    type: 'authorization-response',
    traceId: transaction.traceId,
    at: config.now(),
    responseMode: transaction.responseMode,
    method: request.method,
    ...(delivery.kind === 'response'
      ? tracedJwt(delivery.response)
      : { header: {}, claims: redacted(Object.fromEntries(delivery.params)) }),
  }))
  const login = await completeAuthorization(
    context,
    verified.metadata,
    verified.response,
    transaction,
  )
  return {
    kind: 'login',
    claims: login.claims,
    tokens: login.tokens,
    returnTo: transaction.returnTo,
    grant: grantOfLogin(login, transaction, config),
    ...(transaction.traceId === undefined ? {} : { traceId: transaction.traceId }),
    ...(set === undefined ? {} : { server: set.name }),
  }
}
