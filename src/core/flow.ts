/**
 * The two halves of a login as plain async functions over plain data: starting an authorization
 * (request object, PAR or by value, the URL to send the browser to) and finishing it (JARM
 * verified, code redeemed, ID token validated). Framework-free: the Express layer only moves
 * data between these and the request, the session and the response.
 *
 * @module
 */
import type { Config } from '../config.js'
import { AuthorizationError } from '../errors.js'
import { addClientAuthentication } from './client-auth.js'
import type { Discovery, ServerMetadata } from './discovery.js'
import { validateIdToken, type IdTokenClaims } from './id-token.js'
import { signRequestObject } from './jar.js'
import { verifyJarmResponse, type AuthorizationResponse } from './jarm.js'
import type { RemoteJwks } from './jwks.js'
import { pushAuthorizationRequest } from './par.js'
import { createPkce } from './pkce.js'
import { randomToken } from './random.js'
import { requestTokens, tokenRequestForm, type TokenSet } from './token.js'
import type { ConsumedStates, Transaction } from './transaction.js'

/** What the flows share for one client. Internal. */
export interface ClientContext {
  readonly config: Config
  readonly discovery: Discovery
  readonly jwks: RemoteJwks
  readonly consumed: ConsumedStates
}

/** A started authorization: the transaction to keep and where to send the browser. */
export interface StartedAuthorization {
  readonly transaction: Transaction
  readonly authorizationUrl: string
}

/**
 * Creates a transaction, signs its request object and, with PAR, pushes it. Returns the URL of the
 * authorization endpoint with only `client_id` and `request_uri` (PAR, FAPI 2.0 §5.3.3.2 (6)), or
 * with `client_id`, `response_type`, `scope` and `request` (by value, FAPI 1.0 Advanced
 * §5.2.3 (9)).
 */
export async function startAuthorization(
  context: ClientContext,
  returnTo: string,
): Promise<StartedAuthorization> {
  const { config } = context
  const metadata = await context.discovery.get()
  const pkce = createPkce()
  const transaction: Transaction = {
    state: randomToken(),
    nonce: randomToken(),
    codeVerifier: pkce.codeVerifier,
    redirectUri: config.redirectUri,
    responseMode: config.responseMode,
    issuer: config.issuer,
    clientId: config.clientId,
    returnTo,
    createdAt: config.now(),
  }
  const requestObject = await signRequestObject({
    params: {
      clientId: config.clientId,
      redirectUri: config.redirectUri,
      responseMode: config.responseMode,
      scope: config.scope,
      state: transaction.state,
      nonce: transaction.nonce,
      codeChallenge: pkce.codeChallenge,
      extra: config.authorizationParams,
    },
    issuer: config.issuer,
    key: metadata.signingKey,
    now: config.now(),
    lifetime: config.requestObjectLifetime,
  })
  const url = new URL(metadata.authorizationEndpoint)
  url.searchParams.set('client_id', config.clientId)
  if (config.par) {
    const form = await addClientAuthentication(new URLSearchParams({ request: requestObject }), {
      clientId: config.clientId,
      issuer: config.issuer,
      key: metadata.signingKey,
      now: config.now(),
    })
    const pushed = await pushAuthorizationRequest(metadata.parEndpoint as string, form, config)
    url.searchParams.set('request_uri', pushed.requestUri)
  } else {
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('scope', config.scope)
    url.searchParams.set('request', requestObject)
  }
  return { transaction, authorizationUrl: url.href }
}

/** Verifies a JARM `response` value; nothing inside it is used before this succeeds. */
export async function verifyAuthorizationResponse(
  context: ClientContext,
  response: string,
): Promise<{ metadata: ServerMetadata; response: AuthorizationResponse }> {
  const { config } = context
  const metadata = await context.discovery.get()
  const verified = await verifyJarmResponse(response, {
    issuer: config.issuer,
    clientId: config.clientId,
    algorithms: metadata.jarmAlgorithms,
    clockTolerance: config.clockTolerance,
    now: config.now(),
    jwks: context.jwks,
  })
  return { metadata, response: verified }
}

/** A finished login. */
export interface CompletedLogin {
  readonly claims: IdTokenClaims
  readonly tokens: TokenSet
}

/**
 * Finishes a login whose response was verified and whose transaction was taken: an error inside
 * the response becomes an {@link AuthorizationError}; otherwise the code is redeemed with the
 * transaction's verifier and redirect URI, and the ID token validated against its nonce.
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
  const form = await addClientAuthentication(
    tokenRequestForm({
      code: response.code,
      redirectUri: transaction.redirectUri,
      codeVerifier: transaction.codeVerifier,
    }),
    {
      clientId: config.clientId,
      issuer: config.issuer,
      key: metadata.signingKey,
      now: config.now(),
    },
  )
  const tokens = await requestTokens(metadata.tokenEndpoint, form, {
    httpTimeout: config.httpTimeout,
    maxResponseBytes: config.maxResponseBytes,
    requestedScope: config.scope,
    now: config.now,
  })
  const claims = await validateIdToken(tokens.idToken, {
    issuer: config.issuer,
    clientId: config.clientId,
    algorithms: metadata.idTokenAlgorithms,
    clockTolerance: config.clockTolerance,
    now: config.now(),
    jwks: context.jwks,
    nonce: transaction.nonce,
    accessToken: tokens.accessToken,
  })
  return { claims, tokens }
}
