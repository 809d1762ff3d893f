/**
 * Self-test of the authorization-server test harness (test/support), independent of src/:
 * a hand-built FAPI client (JAR + PAR + private_key_jwt + PKCE) against the real oidc-provider,
 * driven through the scripted user agent, with JARM responses verified by jose.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { test } from 'node:test'

import { SignJWT, createRemoteJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import type { CryptoKey, JWTPayload } from 'jose'

import { startProvider } from './support/provider.js'
import type { StartedProvider, TestClient } from './support/provider.js'
import { UserAgent } from './support/user-agent.js'
import type { CallbackDelivery } from './support/user-agent.js'

const REDIRECT_URI = 'http://127.0.0.1:9/auth/callback'

interface Metadata {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  jwks_uri: string
  pushed_authorization_request_endpoint: string
  end_session_endpoint: string
  userinfo_endpoint: string
  response_modes_supported: string[]
  code_challenge_methods_supported: string[]
  authorization_signing_alg_values_supported: string[]
  request_object_signing_alg_values_supported: string[]
  id_token_signing_alg_values_supported: string[]
  token_endpoint_auth_signing_alg_values_supported: string[]
}

interface ClientUnderTest {
  config: TestClient
  privateKey: CryptoKey
  kid: string
}

async function makeClient(
  clientId: string,
  profile: TestClient['profile'],
  signingAlg: TestClient['signingAlg'],
): Promise<ClientUnderTest> {
  const { publicKey, privateKey } = await generateKeyPair(signingAlg, { extractable: true })
  const kid = `${clientId}-key`
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: signingAlg, use: 'sig' }
  return {
    config: { clientId, redirectUri: REDIRECT_URI, jwks: { keys: [jwk] }, profile, signingAlg },
    privateKey,
    kid,
  }
}

async function discover(issuer: string): Promise<Metadata> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`)
  assert.equal(response.status, 200)
  const metadata = (await response.json()) as Metadata
  assert.equal(metadata.issuer, issuer)
  return metadata
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

function randomToken(): string {
  return randomBytes(32).toString('base64url')
}

function clientAssertion(client: ClientUnderTest, issuer: string): Promise<string> {
  const now = nowSeconds()
  return new SignJWT({})
    .setProtectedHeader({ alg: client.config.signingAlg, kid: client.kid })
    .setIssuer(client.config.clientId)
    .setSubject(client.config.clientId)
    .setAudience(issuer)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(client.privateKey)
}

interface AuthorizationRequest {
  state: string
  nonce: string
  codeVerifier: string
  requestObject: string
}

async function buildRequestObject(
  client: ClientUnderTest,
  issuer: string,
  responseMode: string,
  scope = 'openid',
): Promise<AuthorizationRequest> {
  const state = randomToken()
  const nonce = randomToken()
  const codeVerifier = randomToken()
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url')
  const now = nowSeconds()
  const requestObject = await new SignJWT({
    client_id: client.config.clientId,
    response_type: 'code',
    response_mode: responseMode,
    redirect_uri: client.config.redirectUri,
    scope,
    state,
    nonce,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
  })
    .setProtectedHeader({
      alg: client.config.signingAlg,
      kid: client.kid,
      typ: 'oauth-authz-req+jwt',
    })
    .setIssuer(client.config.clientId)
    .setAudience(issuer)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .setJti(randomUUID())
    .sign(client.privateKey)
  return { state, nonce, codeVerifier, requestObject }
}

/** Pushes the request object (PAR) and returns the authorization URL the RP would redirect to. */
async function pushAuthorizationRequest(
  client: ClientUnderTest,
  metadata: Metadata,
  requestObject: string,
): Promise<string> {
  const response = await fetch(metadata.pushed_authorization_request_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: client.config.clientId,
      request: requestObject,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(client, metadata.issuer),
    }),
  })
  const body = (await response.json()) as { request_uri?: string; expires_in?: number }
  assert.equal(response.status, 201, JSON.stringify(body))
  const { request_uri: requestUri, expires_in: expiresIn } = body
  assert.ok(
    typeof requestUri === 'string' && requestUri.startsWith('urn:ietf:params:oauth:request_uri:'),
  )
  assert.ok(typeof expiresIn === 'number' && expiresIn > 0)
  const url = new URL(metadata.authorization_endpoint)
  url.searchParams.set('client_id', client.config.clientId)
  url.searchParams.set('request_uri', requestUri)
  return url.href
}

function byValueAuthorizationUrl(
  client: ClientUnderTest,
  metadata: Metadata,
  requestObject: string,
): string {
  const url = new URL(metadata.authorization_endpoint)
  url.searchParams.set('client_id', client.config.clientId)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('scope', 'openid')
  url.searchParams.set('request', requestObject)
  return url.href
}

/** Extracts the JARM `response` JWT from however the browser delivered it. */
function jarmResponse(delivery: CallbackDelivery, responseMode: string): string {
  assert.ok(delivery.url.startsWith(REDIRECT_URI), delivery.url)
  let response: string | null
  if (responseMode === 'form_post.jwt') {
    assert.equal(delivery.method, 'POST')
    response = delivery.body?.get('response') ?? null
  } else {
    assert.equal(delivery.method, 'GET')
    assert.equal(delivery.body, undefined)
    const url = new URL(delivery.url)
    const params =
      responseMode === 'fragment.jwt' ? new URLSearchParams(url.hash.slice(1)) : url.searchParams
    response = params.get('response')
  }
  assert.ok(response, 'no JARM response parameter delivered')
  return response
}

async function verifyJarm(
  jwt: string,
  client: ClientUnderTest,
  metadata: Metadata,
): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(
    jwt,
    createRemoteJWKSet(new URL(metadata.jwks_uri)),
    {
      issuer: metadata.issuer,
      audience: client.config.clientId,
      algorithms: [client.config.signingAlg],
    },
  )
  assert.equal(protectedHeader.alg, client.config.signingAlg)
  assert.ok(typeof payload.exp === 'number')
  return payload
}

async function redeemCode(
  client: ClientUnderTest,
  metadata: Metadata,
  code: string,
  codeVerifier: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: client.config.redirectUri,
      code_verifier: codeVerifier,
      client_id: client.config.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(client, metadata.issuer),
    }),
  })
  const body = (await response.json()) as Record<string, unknown>
  assert.equal(response.status, 200, JSON.stringify(body))
  return body
}

async function withProvider(
  fapiProfile: '1.0 Final' | '2.0',
  clients: ClientUnderTest[],
  fn: (op: StartedProvider, metadata: Metadata) => Promise<void>,
): Promise<void> {
  const op = await startProvider({ clients: clients.map((c) => c.config), fapiProfile })
  const serverErrors: unknown[] = []
  op.provider.on('server_error', (_ctx: unknown, error: unknown) => serverErrors.push(error))
  try {
    await fn(op, await discover(op.issuer))
    assert.deepEqual(serverErrors, [])
  } finally {
    await op.close()
  }
}

/** A complete successful flow: request object, delivery, JARM verification, code redemption. */
async function completeFlow(
  op: StartedProvider,
  metadata: Metadata,
  client: ClientUnderTest,
  responseMode: string,
  authorizationUrlFor: (request: AuthorizationRequest) => Promise<string>,
  scope = 'openid',
): Promise<{ userAgent: UserAgent; tokens: Record<string, unknown>; idToken: JWTPayload }> {
  const request = await buildRequestObject(client, metadata.issuer, responseMode, scope)
  const authorizationUrl = await authorizationUrlFor(request)

  const userAgent = new UserAgent()
  const delivery = await userAgent.authorize(authorizationUrl, {
    redirectUri: client.config.redirectUri,
    login: 'alice',
  })
  const jarm = await verifyJarm(jarmResponse(delivery, responseMode), client, metadata)
  assert.equal(jarm.state, request.state)
  assert.equal(typeof jarm.code, 'string')
  assert.equal(jarm.error, undefined)

  const tokenPath = new URL(metadata.token_endpoint).pathname
  assert.equal(op.requests(tokenPath), 0)
  const tokens = await redeemCode(client, metadata, jarm.code as string, request.codeVerifier)
  assert.equal(op.requests(tokenPath), 1)
  assert.equal(typeof tokens.access_token, 'string')
  assert.equal(tokens.token_type, 'Bearer')
  assert.equal(typeof tokens.id_token, 'string')

  const { payload: idToken, protectedHeader } = await jwtVerify(
    tokens.id_token as string,
    createRemoteJWKSet(new URL(metadata.jwks_uri)),
    { issuer: metadata.issuer, audience: client.config.clientId },
  )
  assert.equal(protectedHeader.alg, client.config.signingAlg)
  assert.equal(idToken.sub, 'alice')
  assert.equal(idToken.nonce, request.nonce)
  return { userAgent, tokens, idToken }
}

test('metadata advertises what a FAPI RP needs', async () => {
  const client = await makeClient('meta-client', 'fapi2-message-signing', 'PS256')
  await withProvider('2.0', [client], async (_op, metadata) => {
    for (const mode of ['jwt', 'query.jwt', 'form_post.jwt']) {
      assert.ok(metadata.response_modes_supported.includes(mode), mode)
    }
    for (const list of [
      metadata.authorization_signing_alg_values_supported,
      metadata.request_object_signing_alg_values_supported,
      metadata.id_token_signing_alg_values_supported,
      metadata.token_endpoint_auth_signing_alg_values_supported,
    ]) {
      assert.ok(list.includes('PS256') && list.includes('ES256'), JSON.stringify(list))
    }
    assert.ok(metadata.code_challenge_methods_supported.includes('S256'))
    assert.equal(typeof metadata.pushed_authorization_request_endpoint, 'string')
    assert.match(metadata.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
  })
})

for (const responseMode of ['jwt', 'form_post.jwt', 'fragment.jwt']) {
  test(`FAPI 2.0, PS256 client, PAR, response_mode=${responseMode}`, async () => {
    const client = await makeClient('fapi2-client', 'fapi2-message-signing', 'PS256')
    await withProvider('2.0', [client], async (op, metadata) => {
      await completeFlow(op, metadata, client, responseMode, (request) =>
        pushAuthorizationRequest(client, metadata, request.requestObject),
      )
    })
  })

  test(`FAPI 1.0 Final, ES256 client, PAR, response_mode=${responseMode}`, async () => {
    const client = await makeClient('fapi1-client', 'fapi1-advanced', 'ES256')
    await withProvider('1.0 Final', [client], async (op, metadata) => {
      await completeFlow(op, metadata, client, responseMode, (request) =>
        pushAuthorizationRequest(client, metadata, request.requestObject),
      )
    })
  })
}

test('FAPI 1.0 Final, ES256 client, request object by value (request=)', async () => {
  const client = await makeClient('fapi1-by-value', 'fapi1-advanced', 'ES256')
  await withProvider('1.0 Final', [client], async (op, metadata) => {
    await completeFlow(op, metadata, client, 'jwt', async (request) =>
      byValueAuthorizationUrl(client, metadata, request.requestObject),
    )
  })
})

test('FAPI 2.0 rejects a request object by value; the UserAgent reports the server error', async () => {
  const client = await makeClient('fapi2-by-value', 'fapi2-message-signing', 'PS256')
  await withProvider('2.0', [client], async (_op, metadata) => {
    const request = await buildRequestObject(client, metadata.issuer, 'jwt')
    const url = byValueAuthorizationUrl(client, metadata, request.requestObject)
    await assert.rejects(
      new UserAgent().authorize(url, { redirectUri: client.config.redirectUri }),
      /HTTP 400.*Pushed Authorization Request must be used/,
    )
  })
})

test('claims, userinfo and RP-initiated logout', async () => {
  const client = await makeClient('fapi2-logout', 'fapi2-message-signing', 'ES256')
  const postLogoutRedirectUri = 'http://127.0.0.1:9/auth/logged-out'
  client.config.postLogoutRedirectUri = postLogoutRedirectUri
  await withProvider('2.0', [client], async (op, metadata) => {
    const { userAgent, tokens, idToken } = await completeFlow(
      op,
      metadata,
      client,
      'query.jwt',
      (request) => pushAuthorizationRequest(client, metadata, request.requestObject),
      'openid profile email',
    )
    assert.equal(idToken.email, 'alice@example.test')
    assert.equal(idToken.name, 'Test User')

    const userinfo = await fetch(metadata.userinfo_endpoint, {
      headers: { authorization: `Bearer ${tokens.access_token as string}` },
    })
    assert.equal(userinfo.status, 200)
    assert.deepEqual(await userinfo.json(), {
      sub: 'alice',
      email: 'alice@example.test',
      name: 'Test User',
    })

    const logoutUrl = new URL(metadata.end_session_endpoint)
    logoutUrl.searchParams.set('id_token_hint', tokens.id_token as string)
    logoutUrl.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri)
    logoutUrl.searchParams.set('state', 'logout-state')
    const landedAt = await userAgent.logout(logoutUrl.href, { postLogoutRedirectUri })
    assert.equal(landedAt, `${postLogoutRedirectUri}?state=logout-state`)

    // The session is gone: a new authorization needs an interaction (a login page) again.
    const request = await buildRequestObject(client, metadata.issuer, 'jwt')
    const again = await pushAuthorizationRequest(client, metadata, request.requestObject)
    const redirect = await userAgent.fetch(again)
    const next = new URL(redirect.headers.get('location') ?? '', again).href
    assert.ok(!next.startsWith(client.config.redirectUri), next)
    const page = await (await userAgent.fetch(next)).text()
    assert.match(page, /name="login"/)
  })
})

test('denied consent comes back as a JARM error (access_denied)', async () => {
  const client = await makeClient('fapi2-deny', 'fapi2-message-signing', 'PS256')
  await withProvider('2.0', [client], async (op, metadata) => {
    const request = await buildRequestObject(client, metadata.issuer, 'jwt')
    const authorizationUrl = await pushAuthorizationRequest(client, metadata, request.requestObject)
    const delivery = await new UserAgent().authorize(authorizationUrl, {
      redirectUri: client.config.redirectUri,
      deny: true,
    })
    const jarm = await verifyJarm(jarmResponse(delivery, 'jwt'), client, metadata)
    assert.equal(jarm.error, 'access_denied')
    assert.equal(jarm.state, request.state)
    assert.equal(jarm.code, undefined)
    assert.equal(op.requests(new URL(metadata.token_endpoint).pathname), 0)
    // The unverified view agrees (a quick sanity check of the helper chain).
    assert.equal(decodeJwt(jarmResponse(delivery, 'jwt')).error, 'access_denied')
  })
})
