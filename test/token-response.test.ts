/**
 * The token endpoint's answer (RFC 6749 §5.1, §5.2, §7.1; OIDC Core §3.1.3.5) and faults of the
 * exchange itself: each failure is a coded 5xx, no login, no session, and the pending login is
 * consumed (the same authorization response cannot be replayed).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout } from 'node:timers/promises'
import type { FapiErrorCode } from '../src/index.js'
import type { Reply } from './support/hostile-server.js'
import { manualTimer } from './support/manual-timer.js'
import {
  expectLogin,
  expectRejectedAfterTransaction,
  login,
  setup,
  type SetupOptions,
} from './support/hostile-fixture.js'

interface Case {
  readonly name: string
  readonly reply: (reply: Reply) => Reply
  readonly status: number
  readonly code: FapiErrorCode
  readonly options?: SetupOptions
  /**
   * The token request is held (or slowed) by the server: the client's timeout is fired by the
   * test once the request has arrived, never by the clock, so a loaded machine can neither time
   * out the login's earlier requests nor wait out the slow answer.
   */
  readonly timesOut?: 'held' | 'slow'
}

const CASES: readonly Case[] = [
  {
    name: 'RFC 6749 §5.2: an OAuth error answer (400 invalid_grant) is ERR_TOKEN_REJECTED',
    reply: () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'used' } }),
    status: 502,
    code: 'ERR_TOKEN_REJECTED',
  },
  {
    name: 'RFC 6749 §5.2: a 401 invalid_client answer is ERR_CLIENT_AUTH_REFUSED',
    reply: () => ({ status: 401, body: { error: 'invalid_client' } }),
    status: 502,
    code: 'ERR_CLIENT_AUTH_REFUSED',
  },
  {
    name: 'RFC 6749 §5.1: a 500 HTML page is ERR_AS_HTTP_STATUS',
    reply: () => ({ status: 500, raw: '<html><body>Oops</body></html>', contentType: 'text/html' }),
    status: 502,
    code: 'ERR_AS_HTTP_STATUS',
  },
  {
    name: 'RFC 6749 §5.1: a 503 JSON answer without error is ERR_AS_HTTP_STATUS',
    reply: () => ({ status: 503, body: { message: 'maintenance' } }),
    status: 502,
    code: 'ERR_AS_HTTP_STATUS',
  },
  {
    name: 'RFC 6749 §5.1: a 201 with tokens is not the 200 the spec requires',
    reply: (reply) => ({ ...reply, status: 201 }),
    status: 502,
    code: 'ERR_AS_HTTP_STATUS',
  },
  {
    name: 'RFC 6749 §5.1: a redirect is not followed (ERR_AS_HTTP_STATUS)',
    reply: () => ({ status: 302, raw: '', headers: { location: '/token-elsewhere' } }),
    status: 502,
    code: 'ERR_AS_HTTP_STATUS',
  },
  {
    name: 'RFC 6749 §5.1: a 200 with invalid JSON is ERR_AS_INVALID_JSON',
    reply: () => ({ status: 200, raw: '{"access_token": "abc", ' }),
    status: 502,
    code: 'ERR_AS_INVALID_JSON',
  },
  {
    name: 'RFC 6749 §5.1: a 200 with a JSON array is ERR_AS_INVALID_JSON',
    reply: () => ({ status: 200, raw: '[{"access_token":"abc"}]' }),
    status: 502,
    code: 'ERR_AS_INVALID_JSON',
  },
  {
    name: 'RFC 6749 §5.1: a 200 without access_token is ERR_TOKEN_RESPONSE_INVALID',
    reply: (reply) => ({ ...reply, body: { ...reply.body, access_token: undefined } }),
    status: 502,
    code: 'ERR_TOKEN_RESPONSE_INVALID',
  },
  {
    name: 'RFC 6749 §5.1: a 200 with a non-string access_token is ERR_TOKEN_RESPONSE_INVALID',
    reply: (reply) => ({ ...reply, body: { ...reply.body, access_token: 42 } }),
    status: 502,
    code: 'ERR_TOKEN_RESPONSE_INVALID',
  },
  {
    name: 'RFC 6749 §5.1: a 200 without token_type is ERR_TOKEN_RESPONSE_INVALID',
    reply: (reply) => ({ ...reply, body: { ...reply.body, token_type: undefined } }),
    status: 502,
    code: 'ERR_TOKEN_RESPONSE_INVALID',
  },
  {
    name: 'RFC 6749 §5.1: a string expires_in is ERR_TOKEN_RESPONSE_INVALID',
    reply: (reply) => ({ ...reply, body: { ...reply.body, expires_in: '300' } }),
    status: 502,
    code: 'ERR_TOKEN_RESPONSE_INVALID',
  },
  {
    name: 'RFC 6749 §7.1: token_type mac is ERR_TOKEN_TYPE_UNSUPPORTED',
    reply: (reply) => ({ ...reply, body: { ...reply.body, token_type: 'mac' } }),
    status: 502,
    code: 'ERR_TOKEN_TYPE_UNSUPPORTED',
  },
  {
    name: 'RFC 6749 §7.1: token_type DPoP (not requested) is ERR_TOKEN_TYPE_UNSUPPORTED',
    reply: (reply) => ({ ...reply, body: { ...reply.body, token_type: 'DPoP' } }),
    status: 502,
    code: 'ERR_TOKEN_TYPE_UNSUPPORTED',
  },
  {
    name: 'OIDC Core §3.1.3.3: a 200 without id_token is ERR_ID_TOKEN_MISSING',
    reply: (reply) => ({ ...reply, body: { ...reply.body, id_token: undefined } }),
    status: 502,
    code: 'ERR_ID_TOKEN_MISSING',
  },
  {
    name: 'a token endpoint that never answers is ERR_AS_TIMEOUT (504)',
    reply: () => ({ status: 200, hang: true }),
    status: 504,
    code: 'ERR_AS_TIMEOUT',
    timesOut: 'held',
  },
  {
    name: 'a token endpoint slower than httpTimeout is ERR_AS_TIMEOUT (504)',
    reply: (reply) => ({ ...reply, delayMs: 3000 }),
    status: 504,
    code: 'ERR_AS_TIMEOUT',
    timesOut: 'slow',
  },
  {
    name: 'a connection reset by the token endpoint is ERR_AS_UNREACHABLE',
    reply: () => ({ status: 200, destroy: true }),
    status: 502,
    code: 'ERR_AS_UNREACHABLE',
  },
  {
    name: 'a declared body over maxResponseBytes is ERR_AS_RESPONSE_TOO_LARGE',
    reply: (reply) => ({ ...reply, raw: JSON.stringify({ ...reply.body, pad: 'x'.repeat(8192) }) }),
    status: 502,
    code: 'ERR_AS_RESPONSE_TOO_LARGE',
    options: { client: { maxResponseBytes: 4096 } },
  },
  {
    name: 'a streamed body over maxResponseBytes (no content-length) is ERR_AS_RESPONSE_TOO_LARGE',
    reply: (reply) => ({ ...reply, streamBytes: 4 << 20 }),
    status: 502,
    code: 'ERR_AS_RESPONSE_TOO_LARGE',
  },
]

/** A regression that stops a timeout from firing fails the test instead of hanging the run. */
const BOUND = { timeout: 120_000 }

for (const { name, reply, status, code, options, timesOut } of CASES) {
  test(name, BOUND, async (t) => {
    const clock = manualTimer()
    const fx = await setup(
      t,
      timesOut === undefined ? options : { client: { ...options?.client, httpTimer: clock.timer } },
    )
    fx.as.token = reply
    const response = await login(fx)
    const rejected = expectRejectedAfterTransaction(fx, response, status, code)
    if (timesOut === 'held') await fx.as.held('/token')
    if (timesOut === 'slow') {
      // The slow answer is on its way (3 s): the token request has arrived, and is the only one
      // in flight. Bounded: a token request that never comes fails here.
      for (let wait = 0; fx.as.requests('/token') === 0; wait++) {
        assert.ok(wait < 6000, 'the token request arrives')
        await setTimeout(5)
      }
    }
    if (timesOut !== undefined) {
      assert.equal(clock.expire(), 1, 'one request waits: the token request')
    }
    await rejected
    assert.equal(fx.as.requests('/token'), 1)
    assert.equal(fx.as.requests('/token-elsewhere'), 0)
  })
}

test('RFC 6749 §5.1: token_type is case-insensitive (BEARER is accepted)', async (t) => {
  const fx = await setup(t)
  fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, token_type: 'BEARER' } })
  await expectLogin(fx, await login(fx))
  assert.equal(fx.app.logins[0]?.tokens.tokenType, 'Bearer')
})

test('RFC 6749 §5.1: unknown members of the token response are ignored', async (t) => {
  const fx = await setup(t)
  fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, 'x-extra': { a: [1] } } })
  await expectLogin(fx, await login(fx))
})

test('RFC 6749 §5.1: expires_in becomes expiresAt, the granted scope is kept', async (t) => {
  const fx = await setup(t)
  fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, scope: 'openid', expires_in: 60 } })
  const before = Date.now()
  await expectLogin(fx, await login(fx))
  const tokens = fx.app.logins[0]?.tokens
  assert.equal(tokens?.scope, 'openid')
  assert.ok(tokens?.expiresAt !== undefined && tokens.expiresAt >= before + 60_000)
})
