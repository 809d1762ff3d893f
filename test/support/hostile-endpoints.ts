/**
 * The hostile server's PAR and token endpoints: what a strict FAPI server checks before it answers
 * (DPoP proof, client authentication by assertion or certificate, the request object or plain
 * parameters, the code, PKCE, the code's DPoP binding), recording what the client did wrong.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { JWTPayload, JWTVerifyGetKey } from 'jose'
import type { Bindings, ConnectionRecord } from './hostile-bindings.js'
import { checkAssertion, checkPlainRequest, checkRequestObject } from './hostile-checks.js'
import { oauthError, type Reply } from './hostile-http.js'
import { decryptRequestObject } from './hostile-jwe.js'
import { atHash, s256, type JwtMutation } from './hostile-jwt.js'

/** Bound of every record the server keeps: above the 10,000 logins of the load runs. */
export const MAX_LOG = 20_000

export function bounded<T>(list: T[], item: T): void {
  if (list.length < MAX_LOG) list.push(item)
}

/** What the client pushed (or sent by value). */
export interface Pushed {
  readonly form: URLSearchParams
  readonly requestObject: { readonly header: Record<string, unknown>; readonly payload: JWTPayload }
  /** The JWE header, when the request object was encrypted to the server. */
  readonly encryption?: Record<string, unknown>
}

/** An authorization request, by request_uri or code. */
export interface Grant {
  readonly request: JWTPayload
  used: boolean
  /** The DPoP key thumbprint the code is bound to (RFC 9449 §10). */
  readonly jkt?: string | undefined
}

/** A refresh token the server issued: its authorization request, binding and auth time. */
export interface RefreshGrant {
  readonly request: JWTPayload
  used: boolean
  readonly jkt?: string | undefined
  readonly authTime: number
}

/** The server state the endpoints read and write. */
export interface EndpointState {
  readonly clientId: string
  readonly issuer: string
  readonly now: () => number
  readonly bindings: Bindings
  readonly clientKeys: JWTVerifyGetKey
  readonly seenJtis: Set<string>
  readonly requestUris: Map<string, Grant>
  readonly codes: Map<string, Grant>
  /** Issued refresh tokens (rotated on every use). */
  readonly refreshTokens: Map<string, RefreshGrant>
  violation(message: string): void
  record(pushed: Pushed): void
  recordToken(form: URLSearchParams): void
  sign(claims: JWTPayload, mutation: JwtMutation): Promise<string>
  /** The server's live hooks. */
  readonly hooks: {
    readonly idToken: JwtMutation
    readonly encryptIdToken: ((jwt: string) => Promise<string>) | undefined
    readonly encryptJarm: ((jwt: string) => Promise<string>) | undefined
    readonly assertionAudience: 'issuer' | 'endpoint'
  }
}

function context(state: EndpointState) {
  return {
    clientId: state.clientId,
    issuer: state.issuer,
    keys: state.clientKeys,
    now: state.now(),
  }
}

async function assertionOk(
  state: EndpointState,
  form: URLSearchParams,
  connection: ConnectionRecord,
  url: string,
): Promise<Reply | undefined> {
  if (!form.has('client_assertion')) {
    // RFC 8705 §2: the client certificate, on the mTLS alias, is the authentication.
    if (
      connection.via === 'alias' &&
      connection.certificate &&
      form.get('client_id') === state.clientId
    ) {
      return undefined
    }
    state.violation(`${connection.path}: no client assertion and no client certificate`)
    return oauthError(401, 'invalid_client', 'no client authentication')
  }
  const endpoint = new URL(url)
  const audience =
    state.hooks.assertionAudience === 'endpoint'
      ? `${endpoint.origin}${endpoint.pathname}`
      : state.issuer
  const problem = await checkAssertion(form, {
    ...context(state),
    seenJtis: state.seenJtis,
    audience,
  })
  if (problem === undefined) return undefined
  state.violation(problem)
  return oauthError(401, 'invalid_client', problem)
}

/** PAR (RFC 9126): proof, client authentication, the request (object or parameters). */
export async function par(
  state: EndpointState,
  form: URLSearchParams,
  req: IncomingMessage,
  connection: ConnectionRecord,
  url: string,
): Promise<Reply> {
  if (form.has('request_uri')) state.violation('PAR: the client sent request_uri (RFC 9126 §2.1)')
  const proof = await state.bindings.proof(req, url, '/par')
  if (proof !== undefined && 'reply' in proof) return proof.reply
  const denied = await assertionOk(state, form, connection, url)
  if (denied) return denied
  let request = form.get('request')
  let encryption: Record<string, unknown> | undefined
  if (request !== null && request.split('.').length === 5) {
    ;({ header: encryption, jws: request } = await decryptRequestObject(request))
  }
  const result =
    request === null
      ? checkPlainRequest(form, context(state))
      : await checkRequestObject(request, context(state))
  if (!result.ok) {
    state.violation(result.problem)
    return oauthError(400, 'invalid_request_object', result.problem)
  }
  const { payload } = result.value
  const jkt =
    proof?.thumbprint ?? (typeof payload.dpop_jkt === 'string' ? payload.dpop_jkt : undefined)
  if (proof && payload.dpop_jkt !== undefined && payload.dpop_jkt !== proof.thumbprint) {
    state.violation('PAR: dpop_jkt differs from the DPoP proof key')
  }
  state.record({ form, requestObject: result.value, ...(encryption ? { encryption } : {}) })
  const requestUri = `urn:ietf:params:oauth:request_uri:${randomBytes(16).toString('hex')}`
  if (state.requestUris.size < MAX_LOG) {
    state.requestUris.set(requestUri, { request: payload, used: false, jkt })
  }
  return { status: 201, body: { request_uri: requestUri, expires_in: 60 } }
}

/** The token endpoint: proof, client authentication, the code, PKCE, the DPoP key. */
export async function token(
  state: EndpointState,
  form: URLSearchParams,
  req: IncomingMessage,
  connection: ConnectionRecord,
  url: string,
): Promise<Reply> {
  state.recordToken(form)
  if (form.get('grant_type') === 'refresh_token') return refresh(state, form, req, connection, url)
  if (form.get('grant_type') === 'client_credentials') {
    return clientCredentials(state, form, req, connection, url)
  }
  if (form.get('grant_type') !== 'authorization_code') {
    state.violation('token: grant_type is not authorization_code')
    return oauthError(400, 'unsupported_grant_type', 'authorization_code only')
  }
  const proof = await state.bindings.proof(req, url, '/token')
  if (proof !== undefined && 'reply' in proof) return proof.reply
  const denied = await assertionOk(state, form, connection, url)
  if (denied) return denied
  const grant = state.codes.get(form.get('code') ?? '')
  if (grant === undefined || grant.used) {
    state.violation('token: unknown or reused code')
    return oauthError(400, 'invalid_grant', 'unknown or used code')
  }
  grant.used = true
  const { request } = grant
  if (form.get('redirect_uri') !== request.redirect_uri) {
    state.violation('token: redirect_uri differs from the authorization request')
    return oauthError(400, 'invalid_grant', 'redirect_uri mismatch')
  }
  if (s256(form.get('code_verifier') ?? '') !== request.code_challenge) {
    state.violation('token: code_verifier does not match code_challenge (S256)')
    return oauthError(400, 'invalid_grant', 'PKCE failed')
  }
  if (grant.jkt !== undefined && proof?.thumbprint !== grant.jkt) {
    state.violation('token: the DPoP proof key is not the one the code is bound to')
    return oauthError(400, 'invalid_grant', 'DPoP key mismatch')
  }
  const iat = Math.floor(state.now() / 1000)
  return issueTokens(state, request, proof?.thumbprint, connection, iat, {
    nonce: request.nonce,
  })
}

/** Revocation (RFC 7009 §2.1): client authentication, then the token forgotten; 200 always. */
export async function revoke(
  state: EndpointState,
  form: URLSearchParams,
  connection: ConnectionRecord,
  url: string,
): Promise<Reply> {
  const denied = await assertionOk(state, form, connection, url)
  if (denied) return denied
  const token = form.get('token') ?? ''
  state.bindings.tokens.delete(token)
  const grant = state.refreshTokens.get(token)
  if (grant !== undefined) grant.used = true
  return { status: 200, raw: '' }
}

/** The client credentials grant (RFC 6749 §4.4): a bound access token, no ID or refresh token. */
async function clientCredentials(
  state: EndpointState,
  form: URLSearchParams,
  req: IncomingMessage,
  connection: ConnectionRecord,
  url: string,
): Promise<Reply> {
  const proof = await state.bindings.proof(req, url, '/token')
  if (proof !== undefined && 'reply' in proof) return proof.reply
  const denied = await assertionOk(state, form, connection, url)
  if (denied) return denied
  const accessToken = randomBytes(24).toString('base64url')
  state.bindings.tokens.set(accessToken, {
    ...(proof?.thumbprint ? { jkt: proof.thumbprint } : {}),
    ...(connection.via === 'alias' && connection.certificate
      ? { certificate: connection.certificate }
      : {}),
  })
  const details = form.get('authorization_details')
  return {
    status: 200,
    headers: { 'cache-control': 'no-store' },
    body: {
      access_token: accessToken,
      token_type: proof?.thumbprint ? 'DPoP' : 'Bearer',
      expires_in: 300,
      ...(form.has('scope') ? { scope: form.get('scope') } : {}),
      ...(details === null ? {} : { authorization_details: JSON.parse(details) as unknown }),
    },
  }
}

/** A token response: a new bound access token, an ID token and a new refresh token. */
async function issueTokens(
  state: EndpointState,
  request: JWTPayload,
  jkt: string | undefined,
  connection: ConnectionRecord,
  authTime: number,
  extraClaims: JWTPayload,
): Promise<Reply> {
  const accessToken = randomBytes(24).toString('base64url')
  state.bindings.tokens.set(accessToken, {
    ...(jkt ? { jkt } : {}),
    ...(connection.via === 'alias' && connection.certificate
      ? { certificate: connection.certificate }
      : {}),
  })
  const refreshToken = randomBytes(24).toString('base64url')
  if (state.refreshTokens.size < MAX_LOG) {
    state.refreshTokens.set(refreshToken, { request, used: false, jkt, authTime })
  }
  const iat = Math.floor(state.now() / 1000)
  const idToken = await state.sign(
    {
      iss: state.issuer,
      sub: 'user-1',
      aud: state.clientId,
      exp: iat + 300,
      iat,
      auth_time: authTime,
      ...extraClaims,
      at_hash: atHash(accessToken),
    },
    state.hooks.idToken,
  )
  return {
    status: 200,
    headers: { 'cache-control': 'no-store' },
    body: {
      access_token: accessToken,
      // RFC 9449 §5: DPoP when the request carried a proof.
      token_type: jkt ? 'DPoP' : 'Bearer',
      expires_in: 300,
      id_token: state.hooks.encryptIdToken ? await state.hooks.encryptIdToken(idToken) : idToken,
      refresh_token: refreshToken,
      scope: request.scope,
      // RFC 9396 §7: what was granted, here what was asked for.
      ...(request.authorization_details === undefined
        ? {}
        : { authorization_details: request.authorization_details }),
    },
  }
}

/** The refresh grant (RFC 6749 §6): proof, client authentication, the token, its DPoP key. */
async function refresh(
  state: EndpointState,
  form: URLSearchParams,
  req: IncomingMessage,
  connection: ConnectionRecord,
  url: string,
): Promise<Reply> {
  const proof = await state.bindings.proof(req, url, '/token')
  if (proof !== undefined && 'reply' in proof) return proof.reply
  const denied = await assertionOk(state, form, connection, url)
  if (denied) return denied
  const grant = state.refreshTokens.get(form.get('refresh_token') ?? '')
  if (grant === undefined || grant.used) {
    state.violation('token: unknown or reused (rotated) refresh token')
    return oauthError(400, 'invalid_grant', 'unknown or used refresh token')
  }
  // Rotation: every refresh token is good for one refresh.
  grant.used = true
  if (grant.jkt !== undefined && proof?.thumbprint !== grant.jkt) {
    state.violation('token: the DPoP proof key is not the one the refresh token is bound to')
    return oauthError(400, 'invalid_grant', 'DPoP key mismatch')
  }
  return issueTokens(state, grant.request, proof?.thumbprint, connection, grant.authTime, {})
}
