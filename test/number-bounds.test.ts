/**
 * Numbers from the server are bounded: `expires_in` (token endpoint, PAR) and the NumericDate
 * claims of server-signed JWTs (`exp`, `nbf`, `iat`, `auth_time`) are finite and within sane
 * ranges. JSON's `1e400` parses to Infinity and `1e308 * 1000` overflows to it: either would make
 * a token or a response that never expires. The hostile server signs these values itself.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  expectError,
  expectLogin,
  expectRejected,
  expectRejectedAfterTransaction,
  login,
  setup,
} from './support/hostile-fixture.js'
import type { JwtMutation } from './support/hostile-server.js'

/** A signed JWT whose claim `name` is the JSON number text `value` (e.g. `1e400`). */
function claimText(name: string, value: string): JwtMutation {
  return {
    payloadText: (json) => {
      const replaced = json.replace(new RegExp(`"${name}":[0-9.e+-]+`), `"${name}":${value}`)
      return replaced === json ? `${json.slice(0, -1)},"${name}":${value}}` : replaced
    },
  }
}

test('RFC 6749 §5.1 expires_in bounds: expires_in 1e308 is ERR_TOKEN_RESPONSE_INVALID, no session', async (t) => {
  const fx = await setup(t)
  fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, expires_in: 1e308 } })
  await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_TOKEN_RESPONSE_INVALID')
})

test('RFC 6749 §5.1 expires_in bounds: more than 10 years is ERR_TOKEN_RESPONSE_INVALID, 10 years is accepted', async (t) => {
  const fx = await setup(t)
  fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, expires_in: 315_360_001 } })
  await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_TOKEN_RESPONSE_INVALID')
  fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, expires_in: 315_360_000 } })
  await expectLogin(fx, await login(fx))
  const expiresAt = fx.app.logins[0]?.tokens.expiresAt
  assert.ok(typeof expiresAt === 'number' && Number.isFinite(expiresAt))
})

test('RFC 9126 §2.2 expires_in bounds: a PAR expires_in of 1e308 is ERR_PAR_RESPONSE_INVALID', async (t) => {
  const fx = await setup(t)
  fx.as.fault('/par', (reply) => ({ ...reply, body: { ...reply.body, expires_in: 1e308 } }))
  await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_PAR_RESPONSE_INVALID')
  assert.deepEqual(fx.app.unexpectedErrors, [])
})

test('RFC 7519 §2 NumericDate bounds: an ID token with exp 1e400 (Infinity) is ERR_ID_TOKEN_CLAIMS_INVALID', async (t) => {
  const fx = await setup(t)
  fx.as.idToken = claimText('exp', '1e400')
  await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_CLAIMS_INVALID')
})

test('RFC 7519 §2 NumericDate bounds: an ID token with exp after the year 9999 is ERR_ID_TOKEN_CLAIMS_INVALID', async (t) => {
  const fx = await setup(t)
  fx.as.idToken = claimText('exp', '253402300800')
  await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_CLAIMS_INVALID')
})

test('OIDC Core §2 NumericDate bounds: an ID token with auth_time 1e400 is ERR_ID_TOKEN_CLAIMS_INVALID', async (t) => {
  const fx = await setup(t)
  fx.as.idToken = claimText('auth_time', '1e400')
  await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_CLAIMS_INVALID')
})

test('RFC 7519 §2 NumericDate bounds: a JARM response with exp 1e400 is ERR_JARM_CLAIMS_INVALID, no token request', async (t) => {
  const fx = await setup(t)
  await expectRejected(
    fx,
    await login(fx, claimText('exp', '1e400')),
    400,
    'ERR_JARM_CLAIMS_INVALID',
  )
})
