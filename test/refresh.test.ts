/**
 * Refreshing a login (FAPI 2.0 §5.3.3.1 (6), RFC 6749 §6, OIDC Core §12.2) against the hostile
 * server: the refresh grant with client authentication and DPoP, rotation (the new refresh token
 * on the next refresh, the old one kept when none came), the refreshed ID token checked against
 * the original, the token type checked against the binding, the session updated only on success,
 * and `fetchResource()` refreshing an expired access token once. A real oidc-provider is in
 * `refresh-provider.test.ts`.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { JWTPayload } from 'jose'
import type { FapiErrorCode } from '../src/index.js'
import type { Reply } from './support/hostile-server.js'
import {
  expectError,
  expectLogin,
  holdStaleWrites,
  login,
  setup,
  type Fixture,
  type SetupOptions,
} from './support/hostile-fixture.js'
import { without } from './support/hostile-jwt.js'

interface Stored {
  claims: Record<string, unknown>
  tokens: {
    accessToken: string
    tokenType: string
    idToken: string
    refreshToken?: string
    expiresAt?: number
    scope: string
  }
}

/** Records every refresh token the server issues, in order. */
function issuedRefreshTokens(fx: Fixture): string[] {
  const issued: string[] = []
  fx.as.token = (reply: Reply) => {
    const body = reply.body as Record<string, unknown> | undefined
    if (typeof body?.refresh_token === 'string') issued.push(body.refresh_token)
    return reply
  }
  return issued
}

async function loggedIn(t: Parameters<typeof setup>[0], options: SetupOptions = {}) {
  const fx = await setup(t, options)
  await expectLogin(fx, await login(fx))
  return fx
}

async function stored(fx: Fixture): Promise<Stored> {
  return (await (await fx.browser.request('/stored')).json()) as Stored
}

function refresh(fx: Fixture): Promise<Response> {
  return fx.browser.request('/refresh', { method: 'POST' })
}

async function refreshed(fx: Fixture): Promise<Stored> {
  const answer = await refresh(fx)
  const text = await answer.text()
  assert.equal(answer.status, 200, text.slice(0, 300))
  return JSON.parse(text) as Stored
}

async function userinfo(fx: Fixture): Promise<{ status: number; body: string }> {
  const answer = await fx.browser.request(
    `/resource?${new URLSearchParams({ url: `${fx.as.issuer}/userinfo` })}`,
  )
  const text = await answer.text()
  assert.equal(answer.status, 200, text.slice(0, 300))
  return JSON.parse(text) as { status: number; body: string }
}

/** Refresh responses only (the login's token response passes untouched). */
function onRefresh(
  fx: Fixture,
  rewrite: (body: Record<string, unknown>) => Record<string, unknown>,
) {
  fx.as.token = (reply) => {
    const form = fx.as.tokenRequests().at(-1)
    if (form?.get('grant_type') !== 'refresh_token' || reply.status !== 200) return reply
    return { ...reply, body: rewrite(reply.body as Record<string, unknown>) }
  }
}

/** A refresh that fails with this code leaves the stored login as it was. */
async function expectRefreshRefused(
  fx: Fixture,
  status: number,
  code: FapiErrorCode,
): Promise<void> {
  const before = await stored(fx)
  await expectError(await refresh(fx), status, code)
  assert.deepEqual(await stored(fx), before, 'the session keeps the old login')
  assert.deepEqual(fx.app.unexpectedErrors, [])
}

describe('refresh(req)', () => {
  test('FAPI 2.0 §5.3.3.1 (6): refresh token rotation: the second refresh sends the new refresh token', async (t) => {
    const fx = await setup(t)
    const issued = issuedRefreshTokens(fx)
    await expectLogin(fx, await login(fx))
    const first = await stored(fx)
    assert.equal(first.tokens.refreshToken, issued[0])

    const once = await refreshed(fx)
    assert.equal(once.tokens.refreshToken, issued[1], 'the rotated token is returned')
    assert.notEqual(once.tokens.accessToken, first.tokens.accessToken)
    assert.equal((await stored(fx)).tokens.refreshToken, issued[1], 'and stored')
    const twice = await refreshed(fx)
    assert.equal(twice.tokens.refreshToken, issued[2])

    const forms = fx.as.tokenRequests().filter((f) => f.get('grant_type') === 'refresh_token')
    assert.deepEqual(
      forms.map((f) => f.get('refresh_token')),
      [issued[0], issued[1]],
      'each refresh sends the newest token; the old one is never used again',
    )
    for (const form of forms) {
      assert.equal(form.get('client_id'), 'portal')
      assert.equal(
        form.get('client_assertion_type'),
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      )
    }
    assert.notEqual(forms[0]?.get('client_assertion'), forms[1]?.get('client_assertion'))
    assert.deepEqual(await userinfo(fx), { status: 200, body: '{"sub":"user-1"}' })
    assert.deepEqual(fx.as.violations(), [])
  })

  test('FAPI 2.0 §5.3.3.1 (6): a refresh response without refresh_token keeps the old one', async (t) => {
    const fx = await setup(t)
    const issued = issuedRefreshTokens(fx)
    await expectLogin(fx, await login(fx))
    onRefresh(fx, (body) => without(body, 'refresh_token'))
    const after = await refreshed(fx)
    assert.equal(after.tokens.refreshToken, issued[0])
    assert.equal((await stored(fx)).tokens.refreshToken, issued[0])
  })

  test('FAPI 2.0 §5.3.3.1 (6): refresh without a stored refresh token is ERR_REFRESH_TOKEN_MISSING', async (t) => {
    const fx = await setup(t)
    fx.as.token = (reply) => ({
      ...reply,
      body: without(reply.body as Record<string, unknown>, 'refresh_token'),
    })
    await expectLogin(fx, await login(fx))
    await expectRefreshRefused(fx, 401, 'ERR_REFRESH_TOKEN_MISSING')
    assert.equal(fx.as.requests('/token'), 1, 'no refresh request')
  })

  test('refresh without a login in the session is ERR_LOGIN_REQUIRED, and no request', async (t) => {
    const fx = await setup(t)
    await expectError(await refresh(fx), 401, 'ERR_LOGIN_REQUIRED')
    assert.equal(fx.as.requests('/token'), 0)
  })

  test('RFC 6749 §5.2: a refresh the server refuses (invalid_grant) is ERR_TOKEN_REJECTED', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/token', () => ({ status: 400, body: { error: 'invalid_grant' } }))
    await expectRefreshRefused(fx, 502, 'ERR_TOKEN_REJECTED')
  })

  test('RFC 6749 §7.1: rejects a refresh response with the wrong token_type', async (t) => {
    const fx = await loggedIn(t)
    onRefresh(fx, (body) => ({ ...body, token_type: 'mac' }))
    await expectRefreshRefused(fx, 502, 'ERR_TOKEN_TYPE_UNSUPPORTED')
  })

  test('RFC 9449 §5: rejects a Bearer refresh response for a DPoP-bound login', async (t) => {
    const fx = await loggedIn(t, { client: { senderConstraint: 'dpop' } })
    onRefresh(fx, (body) => ({ ...body, token_type: 'Bearer' }))
    await expectRefreshRefused(fx, 502, 'ERR_TOKEN_NOT_SENDER_CONSTRAINED')
  })

  test('RFC 9449 §5, §8: a DPoP-bound refresh carries a proof with the login key, retried with the server nonce', async (t) => {
    const fx = await loggedIn(t, { client: { senderConstraint: 'dpop' } })
    fx.as.bindings.policy = { paths: new Set(['/token']) }
    fx.as.bindings.nonce = 'refresh-nonce'
    const after = await refreshed(fx)
    assert.equal(after.tokens.tokenType, 'DPoP')
    const proofs = fx.as.bindings.proofs.filter((proof) => proof.path === '/token')
    assert.equal(proofs.length, 3, 'the login, the refresh, its retry with the nonce')
    assert.equal(proofs[1]?.thumbprint, proofs[0]?.thumbprint, 'the login key')
    assert.equal(proofs[2]?.thumbprint, proofs[0]?.thumbprint)
    assert.equal(proofs[2]?.payload.nonce, 'refresh-nonce')
    assert.deepEqual(await userinfo(fx), { status: 200, body: '{"sub":"user-1"}' })
    assert.deepEqual(fx.as.violations(), [])
  })

  test('OIDC Core §12.2: a refresh response without id_token keeps the claims and the ID token', async (t) => {
    const fx = await loggedIn(t)
    const before = await stored(fx)
    onRefresh(fx, (body) => without(body, 'id_token'))
    const after = await refreshed(fx)
    assert.deepEqual(after.claims, before.claims)
    assert.equal(after.tokens.idToken, before.tokens.idToken)
    assert.notEqual(after.tokens.accessToken, before.tokens.accessToken)
  })

  test('OIDC Core §12.2: a refreshed ID token (no nonce) replaces the claims', async (t) => {
    const fx = await loggedIn(t)
    const before = await stored(fx)
    fx.as.idToken = { claims: (claims) => ({ ...claims, name: 'Renamed' }) }
    const after = await refreshed(fx)
    assert.equal(after.claims.name, 'Renamed')
    assert.equal(after.claims.sub, 'user-1')
    assert.equal(after.claims.nonce, undefined)
    assert.notEqual(after.tokens.idToken, before.tokens.idToken)
    assert.deepEqual((await stored(fx)).claims, after.claims)
  })

  const refused: readonly [string, (claims: JWTPayload) => JWTPayload, FapiErrorCode][] = [
    [
      'OIDC Core §12.2: rejects a refreshed ID token whose sub differs',
      (c) => ({ ...c, sub: 'user-2' }),
      'ERR_ID_TOKEN_SUB_MISMATCH',
    ],
    [
      'OIDC Core §12.2: rejects a refreshed ID token whose iss differs',
      (c) => ({ ...c, iss: 'https://other.example' }),
      'ERR_ID_TOKEN_ISS_MISMATCH',
    ],
    [
      'OIDC Core §12.2: rejects a refreshed ID token whose aud differs',
      (c) => ({ ...c, aud: 'other-client' }),
      'ERR_ID_TOKEN_AUD_MISMATCH',
    ],
    [
      'OIDC Core §12.2: rejects a refreshed ID token whose nonce differs',
      (c) => ({ ...c, nonce: 'another' }),
      'ERR_ID_TOKEN_NONCE_MISMATCH',
    ],
    [
      'OIDC Core §12.2: rejects a refreshed ID token whose auth_time differs',
      (c) => ({ ...c, auth_time: Number(c.auth_time) - 3600 }),
      'ERR_ID_TOKEN_CLAIMS_INVALID',
    ],
    [
      'OIDC Core §12.2: rejects a refreshed ID token whose exp is in the past',
      (c) => ({ ...c, exp: 1000 }),
      'ERR_ID_TOKEN_EXPIRED',
    ],
  ]
  for (const [name, claims, code] of refused) {
    test(name, async (t) => {
      const fx = await loggedIn(t)
      fx.as.idToken = { claims }
      await expectRefreshRefused(fx, 502, code)
    })
  }

  test('OIDC Core §12.2: rejects a refreshed ID token with a bad signature', async (t) => {
    const fx = await loggedIn(t)
    fx.as.idToken = { sign: 'other-key' }
    await expectRefreshRefused(fx, 502, 'ERR_ID_TOKEN_SIGNATURE_INVALID')
  })
})

describe('fetchResource with an expired access token', () => {
  test('FAPI 2.0 §5.3.3.1 (6): fetchResource refreshes an expired access token once, first', async (t) => {
    let clock = Date.now()
    const fx = await setup(t, { now: () => clock })
    const issued = issuedRefreshTokens(fx)
    await expectLogin(fx, await login(fx))
    const before = await stored(fx)
    assert.deepEqual(await userinfo(fx), { status: 200, body: '{"sub":"user-1"}' })
    assert.equal(fx.as.requests('/token'), 1, 'a valid token is not refreshed')
    clock += 301_000
    assert.deepEqual(await userinfo(fx), { status: 200, body: '{"sub":"user-1"}' })
    assert.equal(fx.as.requests('/token'), 2, 'one refresh')
    const after = await stored(fx)
    assert.notEqual(after.tokens.accessToken, before.tokens.accessToken)
    assert.equal(after.tokens.refreshToken, issued[1])
    assert.deepEqual(await userinfo(fx), { status: 200, body: '{"sub":"user-1"}' })
    assert.equal(fx.as.requests('/token'), 2, 'the new token is used as it is')
    assert.deepEqual(fx.as.violations(), [])
  })

  test('fetchResource: an expired access token without a refresh token is sent as it is', async (t) => {
    let clock = Date.now()
    const fx = await setup(t, { now: () => clock })
    fx.as.token = (reply) => ({
      ...reply,
      body: without(reply.body as Record<string, unknown>, 'refresh_token'),
    })
    await expectLogin(fx, await login(fx))
    clock += 301_000
    await userinfo(fx)
    assert.equal(fx.as.requests('/token'), 1, 'no refresh')
    assert.equal(fx.as.requests('/userinfo'), 1)
  })

  test('fetchResource: parallel calls with an expired token share one refresh', async (t) => {
    let clock = Date.now()
    const fx = await setup(t, { now: () => clock })
    await expectLogin(fx, await login(fx))
    clock += 301_000
    const answers = await Promise.all([userinfo(fx), userinfo(fx), userinfo(fx)])
    for (const answer of answers) assert.equal(answer.status, 200)
    assert.equal(fx.as.requests('/token'), 2, 'one refresh for the three calls')
    assert.deepEqual(fx.as.violations(), [])
  })
})

/** Waits (bounded) until the server has seen `count` requests to `path`. */
async function seen(fx: Fixture, path: string, count: number): Promise<void> {
  for (let round = 0; round < 500 && fx.as.requests(path) < count; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  assert.ok(fx.as.requests(path) >= count, `${path} reached ${count}`)
}

describe('refreshes racing other requests of the same session', () => {
  test('OIDC RP-Initiated Logout §2, session integrity: a logout during a refresh stays logged out', async (t) => {
    const fx = await loggedIn(t)
    const tokenRequests = fx.as.requests('/token')
    fx.as.fault('/token', (reply) => ({ ...reply, delayMs: 400 }))
    const refreshing = refresh(fx)
    await seen(fx, '/token', tokenRequests + 1)
    const logout = await fx.browser.request('/auth/logout', { method: 'POST' })
    assert.equal(logout.status, 303)
    const answer = await refreshing
    await expectError(answer, 401, 'ERR_LOGIN_REQUIRED')
    assert.equal((await fx.browser.request('/me')).status, 401, 'still logged out')
    assert.equal(await (await fx.browser.request('/stored')).json(), null)
  })

  test('RFC 9700 §4.14.2: a stale session copy saved back never makes a refresh send a rotated-out refresh token', async (t) => {
    let offset = 0
    const fx = await loggedIn(t, { now: () => Date.now() + offset })
    const issued = issuedRefreshTokens(fx)
    const first = (await stored(fx)).tokens.refreshToken
    // An app request reads the session and holds it...
    const { reached, release } = holdStaleWrites()
    const stale = fx.browser.request('/stale-write', { method: 'POST' })
    await reached
    // ...while a refresh rotates the token to 2 and stores it...
    assert.equal((await refresh(fx)).status, 200)
    assert.equal((await stored(fx)).tokens.refreshToken, issued[0])
    // ...then saves its old copy back: it holds a grant id only, so nothing goes back.
    release()
    assert.equal((await stale).status, 204)
    assert.equal((await stored(fx)).tokens.refreshToken, issued[0], 'the grant kept token 2')
    offset += 60_000
    assert.equal((await refresh(fx)).status, 200)
    const sent = fx.as
      .tokenRequests()
      .filter((form) => form.get('grant_type') === 'refresh_token')
      .map((form) => form.get('refresh_token'))
    assert.deepEqual(
      sent,
      [first, issued[0]],
      'the second refresh sent the rotated token, not the old one',
    )
    assert.equal((await stored(fx)).tokens.refreshToken, issued[1])
  })
})
