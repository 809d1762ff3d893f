/**
 * The resource helper, `fetchResource(req, url, init?)`: the logged-in user's token in the
 * `Authorization` header only, never in a URL; requests it refuses to make; transport failures
 * with their own codes. DPoP and mTLS specifics are in `dpop.test.ts` and `mtls.test.ts`.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FapiErrorCode } from '../src/index.js'
import { expectError, expectLogin, login, setup, type Fixture } from './support/hostile-fixture.js'
import { manualTimer } from './support/manual-timer.js'

function call(fx: Fixture, url: string, init?: object): Promise<Response> {
  const query = new URLSearchParams({ url, ...(init ? { init: JSON.stringify(init) } : {}) })
  return fx.browser.request(`/resource?${query}`)
}

async function loggedIn(t: Parameters<typeof setup>[0], client = {}): Promise<Fixture> {
  const fx = await setup(t, { client })
  await expectLogin(fx, await login(fx))
  return fx
}

describe('fetchResource', () => {
  test('RFC 6750 §2.1, FAPI 2.0 §5.3.3.1 (3): a bearer token goes in the Authorization header', async (t) => {
    const fx = await loggedIn(t)
    const answer = await call(fx, `${fx.as.issuer}/userinfo`)
    assert.deepEqual(await answer.json(), { status: 200, body: '{"sub":"user-1"}' })
    assert.deepEqual(fx.as.violations(), [])
  })

  test('the resource server answer is returned whatever its status', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/userinfo', () => ({ status: 403, body: { error: 'insufficient_scope' } }))
    const answer = await call(fx, `${fx.as.issuer}/userinfo`)
    assert.deepEqual(await answer.json(), {
      status: 403,
      body: '{"error":"insufficient_scope"}',
    })
  })

  test('without a login in the session: ERR_LOGIN_REQUIRED, and no request', async (t) => {
    const fx = await setup(t)
    await expectError(await call(fx, `${fx.as.issuer}/userinfo`), 401, 'ERR_LOGIN_REQUIRED')
    assert.equal(fx.as.requests('/userinfo'), 0)
  })

  const refused: readonly [string, (fx: Fixture) => string, object?][] = [
    [
      'RFC 6750 §2.3, RFC 9700 §4.3: a URL with an access_token parameter',
      (fx) => `${fx.as.issuer}/userinfo?access_token=x`,
    ],
    ['RFC 9700 §2.6: an http URL off loopback', () => 'http://api.example.test/accounts'],
    ['a relative URL', () => '/accounts'],
    ['a URL with credentials', (fx) => `${fx.as.issuer.replace('//', '//user:pw@')}/userinfo`],
    [
      'an Authorization header from the app',
      (fx) => `${fx.as.issuer}/userinfo`,
      { headers: { Authorization: 'Bearer other' } },
    ],
    ['a DPoP header from the app', (fx) => `${fx.as.issuer}/userinfo`, { headers: { dpop: 'x' } }],
  ]
  for (const [name, url, init] of refused) {
    test(`refuses ${name}: ERR_RESOURCE_REQUEST_INVALID, no request`, async (t) => {
      const fx = await loggedIn(t)
      await expectError(await call(fx, url(fx), init), 500, 'ERR_RESOURCE_REQUEST_INVALID')
      assert.equal(fx.as.requests('/userinfo'), 0)
    })
  }

  const faults: readonly [string, Parameters<Fixture['as']['fault']>[1], number, FapiErrorCode][] =
    [
      ['a hang', () => ({ status: 200, hang: true }), 504, 'ERR_RESOURCE_TIMEOUT'],
      [
        'a reset connection',
        () => ({ status: 200, destroy: true }),
        502,
        'ERR_RESOURCE_UNREACHABLE',
      ],
      [
        'an endless body',
        (r) => ({ ...r, streamBytes: 4 << 20 }),
        502,
        'ERR_RESOURCE_RESPONSE_TOO_LARGE',
      ],
    ]
  for (const [name, fault, status, code] of faults) {
    test(`a resource server with ${name} is ${code}`, { timeout: 20_000 }, async (t) => {
      // The timeout fires on the test's signal once the server holds the request, never on the
      // clock: a loaded machine can neither time out the login early nor the hang late.
      const clock = manualTimer()
      const fx = await loggedIn(t, { httpTimer: clock.timer, maxResponseBytes: 64 << 10 })
      fx.as.fault('/userinfo', fault)
      const answer = call(fx, `${fx.as.issuer}/userinfo`)
      if (name === 'a hang') {
        await fx.as.held('/userinfo')
        assert.equal(clock.expire(), 1, 'one request waits: the held one')
      }
      await expectError(await answer, status, code)
    })
  }
})
