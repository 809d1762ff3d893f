/**
 * Refresh against a real oidc-provider that issues refresh tokens and rotates them (FAPI 2.0
 * §5.3.3.1 (6)): a full DPoP login with server nonces, `refresh(req)`, the new access token at the
 * userinfo endpoint through `fetchResource()`, and the old refresh token refused by the server.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startFapi2Login, type Fapi2Login } from './support/fapi2-fixture.js'

interface Stored {
  claims: Record<string, unknown>
  tokens: { accessToken: string; tokenType: string; idToken: string; refreshToken?: string }
}

async function stored(fx: Fapi2Login): Promise<Stored> {
  return (await (await fx.browser.request('/stored')).json()) as Stored
}

async function refresh(fx: Fapi2Login): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await fx.browser.request('/refresh', { method: 'POST' })
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> }
}

test('FAPI 2.0 §5.3.3.1 (6), oidc-provider: DPoP-bound refresh with rotation; the old refresh token is refused', async (t) => {
  let offset = 0
  const fx = await startFapi2Login(t, {
    profile: 'fapi2-security',
    senderConstraint: 'dpop',
    dpopNonces: true,
    refreshTokens: true,
    now: () => Date.now() + offset,
  })
  const landed = await fx.browser.deliver(await fx.authorize())
  assert.equal(landed.status, 200, await landed.clone().text())
  const before = await stored(fx)
  assert.equal(before.tokens.tokenType, 'DPoP')
  const oldRefreshToken = before.tokens.refreshToken
  assert.ok(typeof oldRefreshToken === 'string' && oldRefreshToken !== '', 'a refresh token')

  const answer = await refresh(fx)
  assert.equal(answer.status, 200, JSON.stringify(answer.body))
  const after = await stored(fx)
  assert.equal(after.tokens.tokenType, 'DPoP')
  assert.notEqual(after.tokens.accessToken, before.tokens.accessToken)
  assert.ok(typeof after.tokens.refreshToken === 'string')
  assert.notEqual(after.tokens.refreshToken, oldRefreshToken, 'the refresh token was rotated')
  assert.equal(after.claims.sub, 'alice')
  assert.notEqual(after.tokens.idToken, before.tokens.idToken, 'a new, validated ID token')

  const userinfo = await fx.resource(fx.as.userinfoEndpoint)
  assert.equal(userinfo.status, 200, JSON.stringify(userinfo))
  assert.deepEqual(userinfo.body, { sub: 'alice', name: 'Test User' })
  assert.deepEqual(fx.app.unexpectedErrors, [])

  // The old token again, past the client's short memory of finished refreshes: the server says no.
  offset = 10_001
  const put = await fx.browser.request(
    `/stored/refresh-token?${new URLSearchParams({ value: oldRefreshToken })}`,
    { method: 'POST' },
  )
  assert.equal(put.status, 204)
  const tokenRequests = fx.as.requests('main', '/token')
  const reused = await refresh(fx)
  assert.equal(reused.status, 502, JSON.stringify(reused.body))
  assert.equal(reused.body.error, 'ERR_TOKEN_REJECTED')
  assert.ok(fx.as.requests('main', '/token') > tokenRequests, 'the server was asked')
})

test('FAPI 2.0 §5.3.3.1 (6), RFC 8705 §5, oidc-provider: an mTLS refresh goes to the token alias with the certificate', async (t) => {
  const fx = await startFapi2Login(t, {
    profile: 'fapi2-security',
    senderConstraint: 'mtls',
    clientAuthMethod: 'tls_client_auth',
    refreshTokens: true,
  })
  const landed = await fx.browser.deliver(await fx.authorize())
  assert.equal(landed.status, 200, await landed.clone().text())
  const before = await stored(fx)
  const answer = await refresh(fx)
  assert.equal(answer.status, 200, JSON.stringify(answer.body))
  const after = await stored(fx)
  assert.equal(after.tokens.tokenType, 'Bearer')
  assert.notEqual(after.tokens.refreshToken, before.tokens.refreshToken, 'rotated')
  assert.equal(fx.as.requests('mtls', '/token'), 2, 'login and refresh at the alias')
  assert.equal(fx.as.requests('main', '/token'), 0)
  const userinfo = await fx.resource(fx.as.userinfoEndpoint)
  assert.equal(userinfo.status, 200, JSON.stringify(userinfo))
  assert.deepEqual(userinfo.body, { sub: 'alice', name: 'Test User' })
})
