/**
 * What the client sends (specs.md section 2): the signed request object (JAR §4–§6.3, §10.8;
 * FAPI 1.0 Advanced §5.2.3 (2), (8)–(11), (14)–(16); FAPI 2.0 Message Signing), the PAR request and
 * its client assertion (RFC 9126 §2–§4; FAPI 2.0 §5.3.3.1 (5)), the browser redirect, and the token
 * request (PKCE, exact redirect URI), as the hostile server received them.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeProtectedHeader, type JWK } from 'jose'
import type { FapiErrorCode } from '../src/index.js'
import { s256 } from './support/hostile-jwt.js'
import { verifyWith, type Reply } from './support/hostile-server.js'
import { CLIENT_ID, expectError, expectLogin, login, setup } from './support/hostile-fixture.js'

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const UNRESERVED = /^[A-Za-z0-9\-._~]+$/
const seconds = () => Math.floor(Date.now() / 1000)

for (const clientAlg of ['ES256', 'PS256'] as const) {
  test(`JAR §4, FAPI 2.0 MS: typ oauth-authz-req+jwt, alg and kid of the client key, verifies with its JWKS (${clientAlg})`, async (t) => {
    const fx = await setup(t, { clientAlg })
    await login(fx)
    const { header } = fx.as.lastPushed().requestObject
    assert.equal(header.typ, 'oauth-authz-req+jwt')
    assert.equal(header.alg, clientAlg)
    assert.equal(header.kid, fx.clientKey.publicJwk.kid)
    assert.equal(header.jku ?? header.x5u ?? header.jwk, undefined)
    // It verifies with the keys the client publishes at its own jwks route.
    const published = (await (await fx.browser.request('/jwks')).json()) as { keys: JWK[] }
    assert.ok(published.keys.every((key) => key.d === undefined))
    const request = fx.as.lastPushed().form.get('request') ?? ''
    assert.equal((await verifyWith(request, published)).iss, CLIENT_ID)
    assert.deepEqual(fx.as.violations(), [])
  })
}

test('JAR §4, FAPI 1.0 Adv §5.2.3 (10): iss is the client_id, aud is the issuer as a string', async (t) => {
  const fx = await setup(t)
  await login(fx)
  const { payload } = fx.as.lastPushed().requestObject
  assert.equal(payload.iss, CLIENT_ID)
  assert.equal(payload.aud, fx.as.issuer)
})

test('FAPI 1.0 Adv §5.2.3 (11), (14), FAPI 2.0 MS (3)–(4): nbf, iat and exp are current, exp - nbf ≤ 3600', async (t) => {
  for (const lifetime of [undefined, 3600]) {
    const fx = await setup(
      t,
      lifetime === undefined ? {} : { client: { requestObjectLifetime: lifetime } },
    )
    const before = seconds()
    await login(fx)
    const after = seconds()
    const { nbf, iat, exp } = fx.as.lastPushed().requestObject.payload
    assert.ok(typeof nbf === 'number' && nbf >= before - 1 && nbf <= after + 1, `nbf ${nbf}`)
    assert.ok(typeof iat === 'number' && iat >= before - 1 && iat <= after + 1, `iat ${iat}`)
    assert.ok(typeof exp === 'number' && exp > after && exp - nbf <= 3600, `exp ${exp}`)
    if (lifetime !== undefined) assert.equal(exp - nbf, lifetime)
  }
})

test('JAR §4, specs.md §2: jti is a string, unique across logins', async (t) => {
  const fx = await setup(t)
  for (let i = 0; i < 3; i += 1) await login(fx)
  const jtis = fx.as.pushed().map((p) => p.requestObject.payload.jti)
  assert.ok(jtis.every((jti) => typeof jti === 'string' && jti.length >= 16))
  assert.equal(new Set(jtis).size, 3)
})

test('JAR §4, §10.8, OIDC Core §6.1: no sub, request or request_uri inside the request object', async (t) => {
  const fx = await setup(t)
  await login(fx)
  const { payload } = fx.as.lastPushed().requestObject
  for (const name of ['sub', 'request', 'request_uri']) assert.equal(name in payload, false, name)
})

for (const responseMode of ['jwt', 'query.jwt', 'form_post.jwt'] as const) {
  test(`FAPI 1.0 Adv §5.2.3 (8), (15): every parameter is inside the request object (${responseMode})`, async (t) => {
    const fx = await setup(t, {
      client: {
        responseMode,
        scope: 'openid profile',
        authorizationParams: { acr_values: 'urn:acr:high' },
      },
    })
    await login(fx)
    const { payload } = fx.as.lastPushed().requestObject
    assert.equal(payload.client_id, CLIENT_ID)
    assert.equal(payload.response_type, 'code')
    assert.equal(payload.response_mode, responseMode)
    assert.equal(payload.redirect_uri, fx.app.redirectUri)
    assert.equal(payload.scope, 'openid profile')
    assert.equal(payload.acr_values, 'urn:acr:high')
    assert.equal(payload.code_challenge_method, 'S256')
    assert.match(String(payload.code_challenge), /^[A-Za-z0-9_-]{43}$/)
    for (const name of ['state', 'nonce'] as const) {
      const value = payload[name]
      assert.ok(typeof value === 'string' && UNRESERVED.test(value), name)
      assert.ok(value.length >= 22 && value.length <= (name === 'nonce' ? 64 : 128), name)
    }
  })
}

test('FAPI 2.0 §5.3.3.2 (4), RFC 7636 §7.1: state, nonce and code_challenge are new for every login', async (t) => {
  const fx = await setup(t)
  await login(fx)
  await login(fx)
  const [first, second] = fx.as.pushed().map((p) => p.requestObject.payload)
  for (const name of ['state', 'nonce', 'code_challenge']) {
    assert.notEqual(first?.[name], second?.[name], name)
  }
})

test('RFC 9126 §2, §2.1, FAPI 2.0 §5.3.3.1 (5): the PAR form and its private_key_jwt assertion', async (t) => {
  const fx = await setup(t)
  await login(fx)
  const { form, requestObject } = fx.as.lastPushed()
  assert.deepEqual([...form.keys()].sort(), [
    'client_assertion',
    'client_assertion_type',
    'client_id',
    'request',
  ])
  assert.equal(form.get('client_id'), CLIENT_ID)
  assert.equal(form.get('client_id'), requestObject.payload.client_id, 'JAR §6.3')
  assert.equal(form.get('client_assertion_type'), JWT_BEARER)
  const assertion = form.get('client_assertion') ?? ''
  const claims = await verifyWith(assertion, { keys: [fx.clientKey.publicJwk] })
  assert.equal(claims.iss, CLIENT_ID)
  assert.equal(claims.sub, CLIENT_ID)
  assert.equal(typeof claims.aud, 'string')
  assert.equal(claims.aud, fx.as.issuer)
  assert.equal(typeof claims.jti, 'string')
  assert.ok(typeof claims.exp === 'number' && typeof claims.iat === 'number')
  assert.ok(claims.exp - claims.iat <= 300)
  assert.equal(decodeProtectedHeader(assertion).typ, undefined)
})

test('specs.md §2: assertion jti is never reused across PAR and token calls', async (t) => {
  const fx = await setup(t)
  await expectLogin(fx, await login(fx))
  await expectLogin(fx, await login(fx))
  const forms = [...fx.as.pushed().map((p) => p.form), ...fx.as.tokenRequests()]
  const jtis = await Promise.all(
    forms.map(async (form) => {
      const claims = await verifyWith(form.get('client_assertion') ?? '', {
        keys: [fx.clientKey.publicJwk],
      })
      return claims.jti
    }),
  )
  assert.equal(jtis.length, 4)
  assert.equal(new Set(jtis).size, 4)
})

test('FAPI 2.0 §5.3.3.2 (6), FAPI 1.0 Adv §5.2.3 (16): after PAR the browser gets only client_id and request_uri', async (t) => {
  const fx = await setup(t)
  const location = new URL(await fx.browser.startLogin())
  assert.equal(`${location.origin}${location.pathname}`, `${fx.as.issuer}/authorize`)
  assert.deepEqual([...location.searchParams.keys()].sort(), ['client_id', 'request_uri'])
  assert.equal(location.searchParams.get('client_id'), CLIENT_ID)
  assert.match(
    location.searchParams.get('request_uri') ?? '',
    /^urn:ietf:params:oauth:request_uri:/,
  )
})

test('RFC 7636 §4.5, RFC 6749 §4.1.3: the token request has the S256 verifier and the exact redirect_uri', async (t) => {
  const fx = await setup(t)
  const response = await login(fx)
  await expectLogin(fx, response)
  const [form] = fx.as.tokenRequests()
  assert.ok(form)
  assert.equal(form.get('grant_type'), 'authorization_code')
  assert.equal(form.get('code'), response.code)
  assert.equal(form.get('redirect_uri'), fx.app.redirectUri)
  const verifier = form.get('code_verifier') ?? ''
  assert.ok(UNRESERVED.test(verifier) && verifier.length >= 43 && verifier.length <= 128)
  assert.equal(s256(verifier), response.request.code_challenge)
  assert.equal(form.get('client_assertion_type'), JWT_BEARER)
  assert.equal(form.has('client_secret'), false)
})

test('FAPI 1.0 Adv §5.2.3 (2), (9), OIDC Core §6.1: by value, the query duplicates client_id, response_type, scope beside request', async (t) => {
  const fx = await setup(t, {
    client: {
      profile: 'fapi1-advanced',
      pushedAuthorizationRequests: false,
      scope: 'openid accounts',
    },
  })
  const url = await fx.browser.startLogin()
  const query = new URL(url).searchParams
  assert.deepEqual([...query.keys()].sort(), ['client_id', 'request', 'response_type', 'scope'])
  assert.equal(fx.as.requests('/par'), 0)
  const response = await fx.as.authorize(url)
  const { payload, header } = fx.as.lastPushed().requestObject
  assert.equal(header.typ, 'oauth-authz-req+jwt')
  assert.equal(query.get('client_id'), payload.client_id)
  assert.equal(query.get('response_type'), payload.response_type)
  assert.equal(query.get('scope'), payload.scope)
  assert.equal(payload.aud, fx.as.issuer)
  assert.equal(payload.code_challenge_method, 'S256')
  await expectLogin(fx, response)
  assert.equal(s256(fx.as.tokenRequests()[0]?.get('code_verifier') ?? ''), payload.code_challenge)
})

const PAR_FAULTS: readonly [string, (reply: Reply) => Reply, FapiErrorCode][] = [
  [
    'RFC 9126 §2.3: a PAR error answer is ERR_PAR_REJECTED',
    () => ({ status: 400, body: { error: 'invalid_request_object' } }),
    'ERR_PAR_REJECTED',
  ],
  [
    'RFC 9126 §2.2: a PAR answer without request_uri is ERR_PAR_RESPONSE_INVALID',
    (r) => ({ ...r, body: { expires_in: 60 } }),
    'ERR_PAR_RESPONSE_INVALID',
  ],
  [
    'RFC 9126 §2.2: a PAR answer without expires_in is ERR_PAR_RESPONSE_INVALID',
    (r) => ({ ...r, body: { request_uri: 'urn:x' } }),
    'ERR_PAR_RESPONSE_INVALID',
  ],
  [
    'RFC 9126 §2.2: a PAR answer with 200 instead of 201 is ERR_AS_HTTP_STATUS',
    (r) => ({ ...r, status: 200 }),
    'ERR_AS_HTTP_STATUS',
  ],
]

for (const [name, fault, code] of PAR_FAULTS) {
  test(name, async (t) => {
    const fx = await setup(t)
    fx.as.fault('/par', fault)
    await expectError(await fx.browser.request('/auth/login'), 502, code)
    assert.equal(fx.as.requests('/par'), 1)
    assert.deepEqual(fx.app.unexpectedErrors, [])
  })
}
