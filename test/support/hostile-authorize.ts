/**
 * The hostile server's authorization endpoint, as far as tests need it: the request a browser
 * would bring (pushed, by value, or plain parameters), checked; and the response minted for it,
 * which a test may tamper with.
 */
import { randomBytes } from 'node:crypto'
import type { JWTPayload } from 'jose'
import { checkPlainRequest, checkRequestObject } from './hostile-checks.js'
import { MAX_LOG, type EndpointState } from './hostile-endpoints.js'
import type { JwtMutation } from './hostile-jwt.js'
import type { Minted } from './hostile-server.js'

/** The request behind an authorization URL: pushed (request_uri), by value, or plain. */
export async function resolveRequest(
  state: EndpointState,
  url: URL,
): Promise<{ request: JWTPayload; jkt?: string }> {
  const requestUri = url.searchParams.get('request_uri')
  if (requestUri !== null && /^https?:/.test(requestUri)) {
    // RFC 9101 §5.2: a request object by reference, fetched from the client.
    if (url.searchParams.has('request')) state.violation('authorize: request beside request_uri')
    const fetched = await fetch(requestUri, { redirect: 'error' })
    if (fetched.status !== 200) throw new Error(`request_uri: HTTP ${fetched.status}`)
    if (fetched.headers.get('content-type') !== 'application/oauth-authz-req+jwt') {
      state.violation('request_uri: content-type is not application/oauth-authz-req+jwt')
    }
    const result = await checkRequestObject(await fetched.text(), {
      clientId: state.clientId,
      issuer: state.issuer,
      keys: state.clientKeys,
      now: state.now(),
    })
    if (!result.ok) throw new Error(`request object: ${result.problem}`)
    const { payload } = result.value
    state.record({ form: url.searchParams, requestObject: result.value })
    if (url.searchParams.get('client_id') !== payload.client_id) {
      state.violation('authorize: client_id differs from the request object')
    }
    return {
      request: payload,
      ...(typeof payload.dpop_jkt === 'string' ? { jkt: payload.dpop_jkt } : {}),
    }
  }
  if (requestUri !== null) {
    const grant = state.requestUris.get(requestUri)
    if (grant === undefined || grant.used) throw new Error('unknown or reused request_uri')
    grant.used = true
    const extra = [...url.searchParams.keys()].filter(
      (k) => k !== 'client_id' && k !== 'request_uri',
    )
    if (extra.length > 0) state.violation(`authorize: parameters beside PAR's: ${extra.join(', ')}`)
    if (url.searchParams.get('client_id') !== grant.request.client_id) {
      state.violation('authorize: client_id differs from the request object')
    }
    return { request: grant.request, ...(grant.jkt ? { jkt: grant.jkt } : {}) }
  }
  const byValue = url.searchParams.get('request')
  // Without a request object (profile oidc), the parameters themselves are in the query.
  const result =
    byValue === null
      ? checkPlainRequest(url.searchParams, state)
      : await checkRequestObject(byValue, {
          clientId: state.clientId,
          issuer: state.issuer,
          keys: state.clientKeys,
          now: state.now(),
        })
  if (!result.ok) throw new Error(`request object: ${result.problem}`)
  const { payload } = result.value
  state.record({ form: url.searchParams, requestObject: result.value })
  for (const name of ['client_id', 'response_type'] as const) {
    if (url.searchParams.get(name) !== payload[name])
      state.violation(`authorize: query ${name} differs`)
  }
  if (!(url.searchParams.get('scope') ?? '').split(' ').includes('openid')) {
    state.violation('authorize: query scope lacks openid')
  }
  return {
    request: payload,
    ...(typeof payload.dpop_jkt === 'string' ? { jkt: payload.dpop_jkt } : {}),
  }
}

/** A response for a request: plain with `iss`, or a JARM JWT (encrypted if the hook says so). */
export async function mint(
  state: EndpointState,
  request: JWTPayload,
  mutation: JwtMutation = {},
  jkt?: string,
): Promise<Minted> {
  const code = randomBytes(24).toString('base64url')
  if (state.codes.size < MAX_LOG) state.codes.set(code, { request, used: false, jkt })
  const redirectUri = String(request.redirect_uri)
  if (request.response_mode === undefined || request.response_mode === 'query') {
    // A plain response with the RFC 9207 iss; `mutation.claims` rewrites its parameters.
    const plain: Record<string, unknown> = { code, state: request.state, iss: state.issuer }
    const target = new URL(redirectUri)
    for (const [name, value] of Object.entries(mutation.claims?.(plain) ?? plain)) {
      if (value !== undefined) target.searchParams.append(name, String(value))
    }
    return { method: 'GET', url: target.href, code, jwt: '' }
  }
  const iat = Math.floor(state.now() / 1000)
  const signed = await state.sign(
    { iss: state.issuer, aud: state.clientId, exp: iat + 600, iat, state: request.state, code },
    mutation,
  )
  const jwt = state.hooks.encryptJarm ? await state.hooks.encryptJarm(signed) : signed
  if (request.response_mode === 'form_post.jwt') {
    return {
      method: 'POST',
      url: redirectUri,
      body: new URLSearchParams({ response: jwt }),
      code,
      jwt,
    }
  }
  const target = new URL(redirectUri)
  if (request.response_mode === 'fragment.jwt') target.hash = `response=${jwt}`
  else target.searchParams.set('response', jwt)
  return { method: 'GET', url: target.href, code, jwt }
}
