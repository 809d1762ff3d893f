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
import { AuthorizationError, AuthorizationResponseError, SessionError } from '../../errors.js'
import { addClientAuthentication } from '../server/client-auth.js'
import type { ServerMetadata } from '../server/discovery.js'
import { signedIdToken, validateIdToken, type IdTokenClaims } from '../jwt/id-token.js'
import { verifyJarmResponse, type AuthorizationResponse } from '../jwt/jarm.js'
import { requestTokens, tokenRequestForm, type TokenSet } from '../server/token.js'
import { serverJwtContext, tokenEndpointOptions, type ClientContext } from './context.js'
import { readDelivery, type CallbackRequest } from './delivery.js'
import type { Page } from './page.js'
import { checkPlainResponse } from './plain-response.js'
import { formPostRelayPage, fragmentRelayPage, needsFormPostRelay } from './relay.js'
import { sealLogin, storedLoginOf, type SessionLogin } from './stored-login.js'
import { keyOf } from '../coordination/store.js'
import { openTransaction, type Transaction } from './transaction.js'

/** A verified authorization response and the metadata it was checked against. */
export interface VerifiedResponse {
  readonly metadata: ServerMetadata
  readonly response: AuthorizationResponse
}

/** Verifies a JARM `response` value; nothing inside it is used before this succeeds. */
export async function verifyAuthorizationResponse(
  context: ClientContext,
  response: string,
): Promise<VerifiedResponse> {
  const { config } = context
  const metadata = await context.discovery.get()
  const verified = await verifyJarmResponse(response, {
    ...serverJwtContext(context, metadata.jarmAlgorithms),
    decryption: {
      keys: config.encryptionKeys,
      required: config.encryption.authorizationResponse,
    },
  })
  return { metadata, response: verified }
}

/**
 * Checks a plain authorization response (RFC 9207 §2.4): `iss` first, required when the server
 * promises it (FAPI 2.0 servers must); an error without `iss` is thrown as unverified.
 */
export async function verifyPlainResponse(
  context: ClientContext,
  params: URLSearchParams,
): Promise<VerifiedResponse> {
  const metadata = await context.discovery.get()
  const response = checkPlainResponse(params, {
    issuer: context.config.issuer,
    issRequired: metadata.issParameter,
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
  )
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
    maxAge: config.idTokenMaxAge,
  })
  return { claims, tokens: { ...tokens, idToken } }
}

/**
 * The session's pending logins, as the adapter holds them: {@link handleCallback} reads whether one
 * exists (the form_post relay decision) and takes the one its response names.
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

/** What {@link handleCallback} ends with: a page to send as it is, or a finished login. */
export type CallbackOutcome =
  | { readonly kind: 'page'; readonly page: Page }
  | {
      readonly kind: 'login'
      readonly claims: IdTokenClaims
      readonly tokens: TokenSet
      readonly returnTo: string
      /** The record to keep in the (regenerated) session (its secrets sealed with `sessionSecrets`). */
      readonly login: SessionLogin
    }

function transactionNotFound(): SessionError {
  return new SessionError(
    'ERR_TRANSACTION_NOT_FOUND',
    400,
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
  if (found.responseMode !== config.responseMode) {
    throw new AuthorizationResponseError(
      'ERR_RESPONSE_MODE_MISMATCH',
      400,
      'the response arrived in another mode than the one requested',
    )
  }
  if (config.now() - found.createdAt > config.pendingLoginMaxAge * 1000) {
    throw new SessionError(
      'ERR_TRANSACTION_EXPIRED',
      400,
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
): Promise<CallbackOutcome> {
  const { config } = context
  // FAPI 1.0 Baseline §5.2.3 (4): the response arrives at the redirect URI it was requested for.
  if (request.path !== config.redirectPath) {
    throw new AuthorizationResponseError(
      'ERR_REDIRECT_URI_MISMATCH',
      400,
      `the callback is mounted at another path than redirectUri's "${config.redirectPath}"`,
    )
  }
  const delivery = await readDelivery(request, config)
  if (delivery.kind === 'fragment') return { kind: 'page', page: fragmentRelayPage(config) }
  // Verified before it is relayed: the relay page only ever repeats what the server signed.
  const verified =
    delivery.kind === 'plain'
      ? await verifyPlainResponse(context, delivery.params)
      : await verifyAuthorizationResponse(context, delivery.response)
  const { state } = verified.response
  if (
    delivery.kind === 'response' &&
    config.responseMode === 'form_post.jwt' &&
    needsFormPostRelay(request.header('sec-fetch-site'), delivery.relayed, pending.has(state))
  ) {
    return { kind: 'page', page: formPostRelayPage(config, delivery.response) }
  }
  const transaction = await takeTransaction(context, pending, state)
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
    login: await sealLogin(storedLoginOf(login, transaction, config), config),
  }
}
