/**
 * JARM §4.4: the claims of the authorization response JWT, the authorization response parameters
 * inside it, and single use of the pending login, against a hostile authorization server, on
 * Express 5 and Express 4. Signatures and keys: jarm-keys.test.ts.
 */
import assert from 'node:assert/strict'
import session from 'express-session'
import { describe, test } from 'node:test'
import type { JWTPayload } from 'jose'
import { memoryCoordination, type Coordination, type FapiErrorCode } from '../src/index.js'
import { withClaim, without } from './support/hostile-jwt.js'
import {
  CLIENT_ID,
  expectError,
  expectLogin,
  expectRejected,
  login,
  setup,
  type Fixture,
} from './support/hostile-fixture.js'
import { AppBrowser, frameworkName, startApp, type StartedApp } from './support/app.js'
import type { Delivery } from './support/hostile-server.js'

const seconds = () => Math.floor(Date.now() / 1000)

/** Claims of the wrong JSON type: each a 400 with its code, never a 500. */
const ODD_CLAIMS: readonly [string, (c: JWTPayload) => JWTPayload, FapiErrorCode][] = [
  ['a numeric state', (c) => withClaim(c, 'state', 123), 'ERR_JARM_CLAIMS_INVALID'],
  ['an empty state', (c) => withClaim(c, 'state', ''), 'ERR_JARM_CLAIMS_INVALID'],
  ['an empty code', (c) => withClaim(c, 'code', ''), 'ERR_JARM_CLAIMS_INVALID'],
  ['a numeric error', (c) => withClaim(c, 'error', 42), 'ERR_JARM_CLAIMS_INVALID'],
  ['a string exp', (c) => withClaim(c, 'exp', 'soon'), 'ERR_JARM_CLAIMS_INVALID'],
  ['a string iat', (c) => withClaim(c, 'iat', 'now'), 'ERR_JARM_CLAIMS_INVALID'],
  ['an nbf in the future', (c) => withClaim(c, 'nbf', seconds() + 300), 'ERR_JARM_CLAIMS_INVALID'],
  ['a numeric aud', (c) => withClaim(c, 'aud', 7), 'ERR_JARM_AUD_MISMATCH'],
  ['an array iss', (c) => withClaim(c, 'iss', [c.iss]), 'ERR_JARM_ISS_MISMATCH'],
]

for (const express of [5, 4, 'connect'] as const) {
  describe(`JARM claims on ${frameworkName(express)}`, () => {
    test('JARM §4.4 (2): rejects a response whose iss is another issuer', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => ({ ...c, iss: 'https://evil.example' }) })
      await expectRejected(fx, response, 400, 'ERR_JARM_ISS_MISMATCH')
    })

    test('JARM §4.4 (2): rejects a response whose iss is the issuer with a trailing slash', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => ({ ...c, iss: `${fx.as.issuer}/` }) })
      await expectRejected(fx, response, 400, 'ERR_JARM_ISS_MISMATCH')
    })

    test('JARM §4.1, §4.4 (2): rejects a response without iss', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => without(c, 'iss') })
      await expectRejected(fx, response, 400, 'ERR_JARM_ISS_MISMATCH')
    })

    test('JARM §4.4 (3): rejects a response whose aud is another client', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => ({ ...c, aud: 'other-client' }) })
      await expectRejected(fx, response, 400, 'ERR_JARM_AUD_MISMATCH')
    })

    test('JARM §4.4 (3): rejects an aud array with an extra audience', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => ({ ...c, aud: [CLIENT_ID, 'other'] }) })
      await expectRejected(fx, response, 400, 'ERR_JARM_AUD_MISMATCH')
    })

    test('JARM §4.1, §4.4 (3): rejects a response without aud', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => without(c, 'aud') })
      await expectRejected(fx, response, 400, 'ERR_JARM_CLAIMS_INVALID')
    })

    test('JARM §4.4 (4): rejects a response whose exp is in the past', async (t) => {
      const fx = await setup(t, { express })
      const exp = seconds() - 60
      const response = await login(fx, { claims: (c) => ({ ...c, exp, iat: exp - 600 }) })
      await expectRejected(fx, response, 400, 'ERR_JARM_EXPIRED')
    })

    test('JARM §4.1, §4.4 (4): rejects a response without exp', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => without(c, 'exp') })
      await expectRejected(fx, response, 400, 'ERR_JARM_CLAIMS_INVALID')
    })

    test('JARM §4.4 (4), RFC 8725 §3.8: rejects a response whose iat is in the future', async (t) => {
      const fx = await setup(t, { express })
      const iat = seconds() + 120
      const response = await login(fx, { claims: (c) => ({ ...c, iat, exp: iat + 600 }) })
      await expectRejected(fx, response, 400, 'ERR_JARM_IAT_IN_FUTURE')
    })

    test('JARM §4.2: rejects an encrypted (5-segment JWE) response', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, {
        raw: (jwt) =>
          `eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.${jwt.split('.')[1]}.a.b.c`,
      })
      await expectRejected(fx, response, 400, 'ERR_JARM_ENCRYPTED')
    })

    test('JARM §4.4 (final): an error inside the JWT is ERR_AUTHORIZATION_ERROR, 403 for access_denied', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, {
        claims: (c) => ({ ...without(c, 'code'), error: 'access_denied', error_description: 'no' }),
      })
      await expectRejected(fx, response, 403, 'ERR_AUTHORIZATION_ERROR')
      // The pending login was used up by the verified error response.
      await expectRejected(fx, response, 400, 'ERR_TRANSACTION_NOT_FOUND')
    })

    test('JARM §4.4 (final): an error other than access_denied is ERR_AUTHORIZATION_ERROR, 400', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, {
        claims: (c) => ({ ...c, error: 'invalid_request' }),
      })
      await expectRejected(fx, response, 400, 'ERR_AUTHORIZATION_ERROR')
    })

    test('JARM §4.4 (final): an error in a JWT with a bad signature is not trusted', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, {
        claims: (c) => ({ ...without(c, 'code'), error: 'access_denied' }),
        sign: 'other-key',
      })
      await expectRejected(fx, response, 400, 'ERR_JARM_SIGNATURE_INVALID')
      // Not consumed: the real response still works.
      const authorized = await fx.as.authorize(await fx.browser.startLogin())
      await expectLogin(fx, authorized)
    })

    test('JARM §4.1, RFC 6749 §4.1.2: rejects a response without state', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => without(c, 'state') })
      await expectRejected(fx, response, 400, 'ERR_JARM_CLAIMS_INVALID')
    })

    test('JARM §4.1: rejects a response without code or error', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => without(c, 'code') })
      await expectRejected(fx, response, 400, 'ERR_JARM_CLAIMS_INVALID')
    })

    test('JARM §4.1: rejects a response whose code is not a string', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => ({ ...c, code: ['a', 'b'] }) })
      await expectRejected(fx, response, 400, 'ERR_JARM_CLAIMS_INVALID')
    })

    for (const [name, change, code] of ODD_CLAIMS) {
      test(`JARM §4.1, §4.4: rejects a response with ${name} (${code})`, async (t) => {
        const fx = await setup(t, { express })
        await expectRejected(fx, await login(fx, { claims: change }), 400, code)
      })
    }

    test('JARM §4.1: unknown claims are ignored', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => ({ ...c, 'x-unknown': { deep: [1] } }) })
      await expectLogin(fx, response)
    })

    test('RFC 6749 §10.12: rejects a response for a state this session never started', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { claims: (c) => ({ ...c, state: 'forged-state' }) })
      await expectRejected(fx, response, 400, 'ERR_TRANSACTION_NOT_FOUND')
    })

    test('RFC 9700 §2.1 (CSRF): a victim login delivered in the attacker browser does not consume it', async (t) => {
      const fx = await setup(t, { express })
      const victim = fx.newBrowser()
      const response = await login(fx, undefined, victim)
      await expectRejected(fx, response, 400, 'ERR_TRANSACTION_NOT_FOUND', fx.browser)
      await expectLogin(fx, response, victim)
    })

    test('JARM §4.4 (final), RFC 9700 §4.5: a replayed successful response is refused', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      await expectLogin(fx, response)
      await expectError(await fx.browser.deliver(response), 400, 'ERR_TRANSACTION_NOT_FOUND')
      assert.equal(fx.app.logins.length, 1)
      assert.equal(fx.as.requests('/token'), 1)
      assert.deepEqual(fx.app.unexpectedErrors, [])
    })

    test('JARM §4.4 (final): the same response delivered twice in parallel logs in once', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      const answers = await Promise.all([
        fx.browser.deliver(response),
        fx.browser.deliver(response),
      ])
      const statuses = answers.map((answer) => answer.status).sort()
      assert.deepEqual(statuses, [200, 400])
      const refused = answers.find((answer) => answer.status === 400)
      assert.ok(refused)
      await expectError(refused, 400, 'ERR_TRANSACTION_NOT_FOUND')
      assert.equal(fx.app.logins.length, 1)
      assert.equal(fx.as.requests('/token'), 1)
      assert.deepEqual(fx.app.unexpectedErrors, [])
    })

    test('JARM §4.4 (final): a second response for the same login (new code) is refused', async (t) => {
      const fx = await setup(t, { express })
      const first = await login(fx)
      const second = await first.mint()
      await expectLogin(fx, first)
      await expectError(await fx.browser.deliver(second), 400, 'ERR_TRANSACTION_NOT_FOUND')
      assert.equal(fx.as.requests('/token'), 1)
    })
  })
}

/** A second app instance on the same session store and client configuration as `fx.app`. */
async function secondInstance(
  t: { after: (fn: () => Promise<void>) => void },
  fx: Fixture,
  store: session.Store,
  coordination?: Coordination,
): Promise<{ app: StartedApp; deliver: (delivery: Delivery) => Promise<Response> }> {
  const app = await startApp({
    store,
    client: () => ({
      issuer: fx.as.issuer,
      clientId: CLIENT_ID,
      redirectUri: fx.app.redirectUri,
      keys: { signing: [fx.clientKey.privateJwk] },
      allowInsecureLoopback: true,
      senderConstraint: 'none',
      ...(coordination === undefined ? {} : { coordination }),
    }),
  })
  t.after(() => app.close())
  const browser = new AppBrowser(app.origin)
  const deliver = (delivery: Delivery) => {
    const url = new URL(delivery.url)
    url.host = new URL(app.origin).host
    return browser.request(url.href, { headers: { cookie: fx.browser.cookieHeader } })
  }
  return { app, deliver }
}

test('JARM §4.4 (final): a used response replayed on another instance sharing the store is refused', async (t) => {
  const store = new session.MemoryStore()
  const fx = await setup(t, { store })
  const other = await secondInstance(t, fx, store)
  const used = await login(fx)
  const pending = await login(fx)
  await expectLogin(fx, used)
  await expectError(await other.deliver(used), 400, 'ERR_TRANSACTION_NOT_FOUND')
  assert.equal(fx.as.requests('/token'), 1, 'no second token request')
  // The store really is shared: the other tab's pending login completes on the other instance.
  const answer = await other.deliver(pending)
  assert.equal(answer.status, 200, await answer.text())
  assert.equal(other.app.logins.length, 1)
})

test('JARM §4.4 (final): after a failed token request the response cannot be replayed on another instance', async (t) => {
  const store = new session.MemoryStore()
  const fx = await setup(t, { store })
  const other = await secondInstance(t, fx, store)
  fx.as.token = () => ({ status: 400, body: { error: 'invalid_grant' } })
  const response = await login(fx)
  await expectError(await fx.browser.deliver(response), 502, 'ERR_TOKEN_REJECTED')
  await expectError(await other.deliver(response), 400, 'ERR_TRANSACTION_NOT_FOUND')
  assert.equal(fx.as.requests('/token'), 1)
  assert.equal(other.app.logins.length + fx.app.logins.length, 0)
})

test('JARM §4.4 (final), RFC 9700 §4.5: one response delivered to two instances at once is redeemed once', async (t) => {
  // Two instances on one session store and one coordination store (what redisCoordination shares).
  const store = new session.MemoryStore()
  const coordination = memoryCoordination()
  const fx = await setup(t, { store, coordination })
  const other = await secondInstance(t, fx, store, coordination)
  const tokenRequests: number[] = []
  for (let round = 0; round < 5; round += 1) {
    const response = await login(fx)
    const answers = await Promise.all([fx.browser.deliver(response), other.deliver(response)])
    const statuses = answers.map((answer) => answer.status).sort()
    assert.deepEqual(statuses, [200, 400], `one login, one ERR_TRANSACTION_NOT_FOUND: ${statuses}`)
    tokenRequests.push(fx.as.requests('/token'))
  }
  assert.deepEqual(tokenRequests, [1, 2, 3, 4, 5], 'exactly one token request per response')
})
