/**
 * The second half of a login as plain async functions over plain data: the authorization response
 * verified (a JARM JWT, or a plain response by its RFC 9207 `iss`) before anything in it is used,
 * then, once the caller has taken the transaction, the code redeemed (with the login's DPoP key
 * and the client certificate where they apply) and the ID token validated.
 *
 * @module
 */
import { AuthorizationError } from '../errors.js'
import { addClientAuthentication } from './client-auth.js'
import type { ServerMetadata } from './discovery.js'
import { serverJwtContext, tokenEndpointOptions, type ClientContext } from './flow.js'
import { signedIdToken, validateIdToken, type IdTokenClaims } from './id-token.js'
import { verifyJarmResponse, type AuthorizationResponse } from './jarm.js'
import { checkPlainResponse } from './plain-response.js'
import { requestTokens, tokenRequestForm, type TokenSet } from './token.js'
import type { Transaction } from './transaction.js'

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
  })
  return { claims, tokens: { ...tokens, idToken } }
}
