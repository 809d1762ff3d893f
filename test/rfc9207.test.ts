/**
 * Plain (`query`) authorization responses under `fapi2-security` and `oidc`, checked by their
 * RFC 9207 `iss` before anything in them is used; and the plain PAR request that goes with them.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  expectError,
  expectLogin,
  expectRejected,
  login,
  setup,
  type SetupOptions,
} from './support/hostile-fixture.js'
import { without } from './support/hostile-jwt.js'

const PLAIN: SetupOptions = { client: { profile: 'fapi2-security', senderConstraint: 'none' } }
const OIDC: SetupOptions = { client: { profile: 'oidc', pushedAuthorizationRequests: true } }

describe('RFC 9207 issuer identification of plain responses', () => {
  test('FAPI 2.0 §5.3.3.2 (5), RFC 9207 §2.4: a plain response whose iss is the issuer logs in', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx)
    const query = new URL(response.url).searchParams
    assert.deepEqual([...query.keys()].sort(), ['code', 'iss', 'state'])
    await expectLogin(fx, response)
  })

  test('RFC 9207 §2.4: rejects a response whose iss differs', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx, { claims: (c) => ({ ...c, iss: 'https://other.example' }) })
    await expectRejected(fx, response, 400, 'ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH')
  })

  test('RFC 9207 §2.4: rejects a response whose iss is the issuer with a trailing slash', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx, { claims: (c) => ({ ...c, iss: `${fx.as.issuer}/` }) })
    await expectRejected(fx, response, 400, 'ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH')
  })

  test('RFC 9207 §2.4: iss is URL-decoded before the exact comparison', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx)
    const url = new URL(response.url)
    const encoded = [...fx.as.issuer].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')
    url.searchParams.delete('iss')
    await expectLogin(fx, { ...response, url: `${url.href}&iss=${encoded}` })
  })

  test('RFC 9207 §2.4: rejects a response without iss when the metadata promises it', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx, { claims: (c) => without(c, 'iss') })
    await expectRejected(fx, response, 400, 'ERR_AUTHORIZATION_RESPONSE_ISS_MISSING')
  })

  test('RFC 9207 §2.4: rejects a response with two iss parameters', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx)
    await expectRejected(
      fx,
      { ...response, url: `${response.url}&iss=x` },
      400,
      'ERR_CALLBACK_MALFORMED',
    )
  })

  test('RFC 9207 §2.4: an error response with the issuer as iss is ERR_AUTHORIZATION_ERROR and consumes the login', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx, {
      claims: (c) => ({ ...without(c, 'code'), error: 'access_denied' }),
    })
    await expectRejected(fx, response, 403, 'ERR_AUTHORIZATION_ERROR')
    await expectError(await fx.browser.deliver(response), 400, 'ERR_TRANSACTION_NOT_FOUND')
  })

  test('RFC 9207 §2.4: an error response with another iss is ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx, {
      claims: (c) => ({ ...without(c, 'code'), error: 'access_denied', iss: 'https://mix.up' }),
    })
    await expectRejected(fx, response, 400, 'ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH')
  })

  test('RFC 9207 §2.4: an error response without iss is ERR_AUTHORIZATION_ERROR_UNVERIFIED and consumes nothing', async (t) => {
    const fx = await setup(t, OIDC)
    fx.as.metadata = (m) => ({ ...m, authorization_response_iss_parameter_supported: false })
    const authorized = await login(fx)
    const forged = await authorized.mint({
      claims: (c) => ({ ...without(c, 'code', 'iss'), error: 'access_denied' }),
    })
    await expectRejected(fx, forged, 400, 'ERR_AUTHORIZATION_ERROR_UNVERIFIED')
    // The pending login was not touched: the real response still completes it.
    await expectLogin(fx, authorized)
  })

  test('RFC 9207 §2.4: without the metadata promise, a success response without iss is bound by state, PKCE and nonce', async (t) => {
    const fx = await setup(t, OIDC)
    fx.as.metadata = (m) => ({ ...m, authorization_response_iss_parameter_supported: false })
    await expectLogin(fx, await login(fx, { claims: (c) => without(c, 'iss') }))
  })

  test('FAPI 2.0 §5.3.3.2 (5): under fapi2-security, a server that does not promise iss is ERR_DISCOVERY_INVALID', async (t) => {
    const fx = await setup(t, PLAIN)
    fx.as.metadata = (m) => without(m, 'authorization_response_iss_parameter_supported')
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_DISCOVERY_INVALID')
  })

  test('RFC 9700 §4.8: a JARM response where a plain query response was requested is ERR_RESPONSE_MODE_MISMATCH', async (t) => {
    const fx = await setup(t, PLAIN)
    const response = await login(fx)
    await expectRejected(
      fx,
      { ...response, url: `${response.url}&response=x.y.z` },
      400,
      'ERR_RESPONSE_MODE_MISMATCH',
    )
  })

  test('JARM §4.3, RFC 9700 §4.8: a plain response where JARM was requested is still a downgrade', async (t) => {
    const fx = await setup(t)
    const response = await login(fx)
    const url = new URL(response.url)
    url.search = `?code=${response.code}&state=x&iss=${encodeURIComponent(fx.as.issuer)}`
    await expectRejected(fx, { ...response, url: url.href }, 400, 'ERR_RESPONSE_MODE_DOWNGRADE')
  })
})

describe('plain authorization requests (no request object)', () => {
  test('FAPI 2.0 §5.3.3.2 (2), (6), RFC 9126 §2.1: PAR carries the parameters; the browser gets only client_id and request_uri', async (t) => {
    const fx = await setup(t, PLAIN)
    const authorizationUrl = await fx.browser.startLogin()
    assert.deepEqual([...new URL(authorizationUrl).searchParams.keys()].sort(), [
      'client_id',
      'request_uri',
    ])
    const { form } = fx.as.lastPushed()
    assert.equal(form.has('request'), false)
    assert.equal(form.get('response_type'), 'code')
    assert.equal(form.get('code_challenge_method'), 'S256')
    assert.equal(form.has('response_mode'), false, 'query is the default of response_type=code')
    assert.equal(
      form.get('client_assertion_type'),
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    )
    assert.deepEqual(fx.as.violations(), [])
  })

  test('OIDC Core §3.1.2.1: without PAR and a request object (profile oidc), the parameters are in the query', async (t) => {
    const fx = await setup(t, { client: { profile: 'oidc' } })
    const authorizationUrl = new URL(await fx.browser.startLogin())
    for (const name of ['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'nonce']) {
      assert.ok(authorizationUrl.searchParams.has(name), name)
    }
    assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256')
    assert.equal(fx.as.requests('/par'), 0)
    await expectLogin(fx, await fx.as.authorize(authorizationUrl.href))
  })
})
