/**
 * Per-login authorization parameters (`login({ authorizationParams })`, `startLogin()`): sent
 * inside the request object like the static ones; the library's own parameters refused at request
 * time as at startup; `max_age` and essential `acr` values enforced on the ID token (OIDC Core
 * §3.1.2.1, §3.1.3.7 (12)–(13)), as the pending login recorded them.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createFapiCore } from '../src/core/index.js'
import type { Express, Request } from 'express'
import { FapiError, type FapiClient, type FapiClientOptions } from '../src/index.js'
import { without } from './support/hostile-jwt.js'
import {
  expectError,
  expectLogin,
  expectRejectedAfterTransaction,
  login,
  setup,
} from './support/hostile-fixture.js'
import { generateJwks } from './support/keys.js'

const seconds = () => Math.floor(Date.now() / 1000)
const OWNED = [
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'redirect_uri',
  'response_type',
  'response_mode',
  'client_id',
  'request',
  'request_uri',
  'scope',
  'dpop_jkt',
] as const

describe('per-login parameters owned by the library are refused at request time', async () => {
  const { privateJwk } = await generateJwks('ES256', 'owned')
  const options: FapiClientOptions = {
    issuer: 'http://127.0.0.1:1',
    clientId: 'portal',
    redirectUri: 'http://127.0.0.1:2/auth/callback',
    keys: { signing: [privateJwk] },
    allowInsecureLoopback: true,
  }
  for (const name of OWNED) {
    test(`RFC 9101 §4, specs.md §2: a per-login "${name}" is ERR_AUTHORIZATION_PARAM_RESERVED`, async () => {
      const core = createFapiCore(options)
      await assert.rejects(
        core.startLogin({ returnTo: [], transactions: {}, authorizationParams: { [name]: 'x' } }),
        (error: unknown) =>
          error instanceof FapiError &&
          error.code === 'ERR_AUTHORIZATION_PARAM_RESERVED' &&
          error.status === 500 &&
          error.message.includes(`"${name}"`),
      )
    })
  }
})

/** The fixture with per-login routes: `/login-hinted` (a function of the request), `/login-owned`. */
function perLoginRoutes(app: Express, client: FapiClient): void {
  app.get(
    '/login-hinted',
    client.login({
      authorizationParams: (req: Request) => ({ login_hint: String(req.query.hint), max_age: 120 }),
    }),
  )
  app.get('/login-owned', client.login({ authorizationParams: { nonce: 'chosen-by-the-app' } }))
}

test('RFC 9101 §4: a per-login parameter goes inside the request object, and its max_age is enforced', async (t) => {
  const fx = await setup(t, { routes: perLoginRoutes })
  const started = await fx.browser.request('/login-hinted?hint=alice')
  assert.equal(started.status, 303)
  fx.as.idToken = { claims: (c) => without(c, 'auth_time') }
  const delivery = await fx.as.authorize(started.headers.get('location') ?? '')
  assert.equal(delivery.request.login_hint, 'alice')
  assert.equal(delivery.request.max_age, 120)
  assert.notEqual(delivery.request.nonce, 'chosen-by-the-app')
  await expectRejectedAfterTransaction(fx, delivery, 502, 'ERR_ID_TOKEN_AUTH_TIME_MISSING')
})

test('RFC 9101 §4: login({ authorizationParams }) with an owned parameter answers ERR_AUTHORIZATION_PARAM_RESERVED', async (t) => {
  const fx = await setup(t, { routes: perLoginRoutes })
  await expectError(
    await fx.browser.request('/login-owned'),
    500,
    'ERR_AUTHORIZATION_PARAM_RESERVED',
  )
  assert.equal(fx.as.requests('/par'), 0, 'nothing was pushed')
})

describe('OIDC Core §3.1.2.1, §3.1.3.7 (13): max_age is enforced on auth_time', () => {
  test('OIDC Core §3.1.2.1: with max_age requested, an ID token without auth_time is ERR_ID_TOKEN_AUTH_TIME_MISSING', async (t) => {
    const fx = await setup(t, { client: { authorizationParams: { max_age: 300 } } })
    fx.as.idToken = { claims: (c) => without(c, 'auth_time') }
    const delivery = await login(fx)
    assert.equal(delivery.request.max_age, 300)
    await expectRejectedAfterTransaction(fx, delivery, 502, 'ERR_ID_TOKEN_AUTH_TIME_MISSING')
  })

  test('OIDC Core §3.1.3.7 (13): an auth_time older than max_age plus the tolerance is ERR_ID_TOKEN_AUTH_TIME_TOO_OLD', async (t) => {
    const fx = await setup(t, { client: { authorizationParams: { max_age: 60 } } })
    fx.as.idToken = { claims: (c) => ({ ...c, auth_time: seconds() - 3600 }) }
    await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_AUTH_TIME_TOO_OLD')
  })

  test('OIDC Core §3.1.3.7 (13): a recent auth_time within max_age is accepted', async (t) => {
    const fx = await setup(t, { client: { authorizationParams: { max_age: 60 } } })
    await expectLogin(fx, await login(fx))
  })

  test('OIDC Core §3.1.2.1: without max_age, an ID token without auth_time is accepted', async (t) => {
    const fx = await setup(t)
    fx.as.idToken = { claims: (c) => without(c, 'auth_time') }
    await expectLogin(fx, await login(fx))
  })
})

describe('OIDC Core §3.1.3.7 (12), FAPI 1.0 Adv §5.2.3 (3): an essential acr is enforced', () => {
  const claims = { id_token: { acr: { essential: true, values: ['urn:loa:3', 'urn:loa:4'] } } }

  test('OIDC Core §3.1.3.7 (12): an acr other than the essential values is ERR_ID_TOKEN_ACR_NOT_GRANTED', async (t) => {
    const fx = await setup(t, { client: { authorizationParams: { claims } } })
    fx.as.idToken = { claims: (c) => ({ ...c, acr: 'urn:loa:1' }) }
    const delivery = await login(fx)
    assert.deepEqual(delivery.request.claims, claims)
    await expectRejectedAfterTransaction(fx, delivery, 502, 'ERR_ID_TOKEN_ACR_NOT_GRANTED')
  })

  test('OIDC Core §3.1.3.7 (12): a missing acr requested as essential is ERR_ID_TOKEN_ACR_NOT_GRANTED', async (t) => {
    const fx = await setup(t, { client: { authorizationParams: { claims } } })
    await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_ACR_NOT_GRANTED')
  })

  test('OIDC Core §3.1.3.7 (12): an acr among the essential values is accepted', async (t) => {
    const fx = await setup(t, { client: { authorizationParams: { claims } } })
    fx.as.idToken = { claims: (c) => ({ ...c, acr: 'urn:loa:4' }) }
    await expectLogin(fx, await login(fx))
  })

  test('OIDC Core §3.1.3.7 (12): acr_values alone (voluntary) is not enforced', async (t) => {
    const fx = await setup(t, { client: { authorizationParams: { acr_values: 'urn:loa:3' } } })
    fx.as.idToken = { claims: (c) => ({ ...c, acr: 'urn:loa:1' }) }
    await expectLogin(fx, await login(fx))
  })
})

describe('JARM §4.3: a per-login response mode is the only one its callback accepts', () => {
  const modes = (app: Express, client: FapiClient) => {
    app.get(
      '/login-mode',
      client.login({ responseMode: (req: Request) => String(req.query.mode) as 'jwt' }),
    )
  }
  const options = { client: { responseModes: ['form_post.jwt' as const] }, routes: modes }

  test('JARM §4.3: a response in another mode than the login asked for is ERR_RESPONSE_MODE_MISMATCH, before any token request', async (t) => {
    const fx = await setup(t, options)
    const started = await fx.browser.request('/login-mode?mode=form_post.jwt')
    assert.equal(started.status, 303)
    const delivery = await fx.as.authorize(started.headers.get('location') ?? '')
    assert.equal(delivery.request.response_mode, 'form_post.jwt')
    const asQuery = `${fx.app.redirectUri}?${new URLSearchParams({ response: delivery.jwt }).toString()}`
    await expectError(await fx.browser.request(asQuery), 400, 'ERR_RESPONSE_MODE_MISMATCH')
    assert.equal(fx.as.requests('/token'), 0, 'no token request')
    assert.equal(fx.app.logins.length, 0)
  })

  test('JARM §4.3: a per-login mode outside responseModes is ERR_RESPONSE_MODE_NOT_ALLOWED', async (t) => {
    const fx = await setup(t, options)
    await expectError(
      await fx.browser.request('/login-mode?mode=fragment.jwt'),
      400,
      'ERR_RESPONSE_MODE_NOT_ALLOWED',
    )
  })

  test('JARM §4.3: a per-login form_post.jwt login completes at the one callback', async (t) => {
    const fx = await setup(t, options)
    const started = await fx.browser.request('/login-mode?mode=form_post.jwt')
    const delivery = await fx.as.authorize(started.headers.get('location') ?? '')
    assert.equal(delivery.method, 'POST')
    await expectLogin(fx, delivery)
  })
})
