/**
 * Token revocation at logout (RFC 7009 §2.1): where the server has a `revocation_endpoint`, the
 * refresh token and the access token are revoked with client authentication before the local
 * session ends; a failure never keeps the user logged in.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startFapi2Login } from './support/fapi2-fixture.js'
import { manualTimer } from './support/manual-timer.js'
import {
  expectLogin,
  login,
  setup,
  type Fixture,
  type SetupOptions,
} from './support/hostile-fixture.js'

const withLogout: SetupOptions = {
  routes: (router, client) => {
    router.post('/auth/logout', client.logout())
  },
}

async function loggedIn(t: Parameters<typeof setup>[0]): Promise<Fixture> {
  const fx = await setup(t, withLogout)
  await expectLogin(fx, await login(fx))
  return fx
}

async function stored(fx: { browser: Fixture['browser'] }) {
  return (await (await fx.browser.request('/stored')).json()) as {
    tokens: { accessToken: string; refreshToken?: string }
  }
}

describe('RFC 7009 at logout', () => {
  test('RFC 7009 §2.1, oidc-provider: logout revokes the refresh and access tokens before the session ends', async (t) => {
    const fx = await startFapi2Login(t, {
      profile: 'oidc',
      senderConstraint: 'none',
      refreshTokens: true,
      server: { revocation: true },
      routes: (router, client) => router.post('/auth/logout', client.logout()),
    })
    const landed = await fx.browser.deliver(await fx.authorize())
    assert.equal(landed.status, 200, await landed.clone().text())
    const { tokens } = await stored(fx)
    assert.ok(tokens.refreshToken)
    const userinfo = () =>
      fetch(fx.as.userinfoEndpoint, { headers: { authorization: `Bearer ${tokens.accessToken}` } })
    assert.equal((await userinfo()).status, 200)
    const out = await fx.browser.request('/auth/logout', { method: 'POST' })
    assert.equal(out.status, 303)
    assert.equal(fx.as.requests('main', '/token/revocation'), 2)
    assert.equal((await userinfo()).status, 401, 'the access token no longer works')
    assert.equal((await fx.browser.request('/me')).status, 401, 'logged out locally')
  })

  test('RFC 7009 §2.1: the refresh token, then the access token, with client authentication', async (t) => {
    const fx = await loggedIn(t)
    const { tokens } = await stored(fx)
    const out = await fx.browser.request('/auth/logout', { method: 'POST' })
    assert.equal(out.status, 303)
    const forms = fx.as.revocationRequests()
    assert.deepEqual(
      forms.map((form) => [form.get('token_type_hint'), form.get('token')]),
      [
        ['refresh_token', tokens.refreshToken],
        ['access_token', tokens.accessToken],
      ],
    )
    assert.ok(forms.every((form) => form.has('client_assertion')))
    assert.deepEqual(fx.as.violations(), [])
    assert.equal((await fx.browser.request('/me')).status, 401)
  })

  test('RFC 7009 §2.1: a revocation endpoint that fails does not keep the user logged in', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/revoke', () => ({ status: 503, raw: '' }))
    const out = await fx.browser.request('/auth/logout', { method: 'POST' })
    assert.equal(out.status, 303)
    assert.ok(fx.as.revocationRequests().length >= 1)
    assert.equal((await fx.browser.request('/me')).status, 401)
  })

  test(
    'RFC 7009 §2.1: an unreachable revocation endpoint does not keep the user logged in',
    { timeout: 20_000 },
    async (t) => {
      // The timeout fires on the test's signal once the server holds the revocation request.
      const clock = manualTimer()
      const fx = await setup(t, { ...withLogout, client: { httpTimer: clock.timer } })
      await expectLogin(fx, await login(fx))
      fx.as.fault('/revoke', () => ({ status: 200, hang: true }))
      let done = false
      const logout = fx.browser.request('/auth/logout', { method: 'POST' }).finally(() => {
        done = true
      })
      // Each revocation request (access and refresh token) is held, then timed out.
      let expired = 0
      for (let held = 1; held <= 4 && !done; held++) {
        await Promise.race([fx.as.held('/revoke', held), logout])
        expired += clock.expire()
      }
      assert.ok(expired >= 1, 'a held revocation request timed out')
      const out = await logout
      assert.equal(out.status, 303)
      assert.equal((await fx.browser.request('/me')).status, 401)
    },
  )

  test('RFC 7009: without a revocation endpoint, logout revokes nothing and ends the session', async (t) => {
    const fx = await setup(t, withLogout)
    fx.as.metadata = (metadata) => {
      const rest = { ...metadata }
      delete rest.revocation_endpoint
      return rest
    }
    await expectLogin(fx, await login(fx))
    const out = await fx.browser.request('/auth/logout', { method: 'POST' })
    assert.equal(out.status, 303)
    assert.equal(fx.as.requests('/revoke'), 0)
    assert.equal((await fx.browser.request('/me')).status, 401)
  })
})
