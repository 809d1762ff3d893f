/**
 * Every feature example of `examples/` (indexed in examples/README.md), run as a user runs it,
 * `npm run example examples/<file>` (its own example banks in its process), and driven through
 * a login at those banks by a scripted browser.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ExampleBrowser, startExample } from './support/example-browser.js'

const options = { timeout: 90_000 }

describe('the feature examples', () => {
  test(
    'express-minimal.ts: login, the protected page shows the claims, logout',
    options,
    async (t) => {
      const example = await startExample(t, 'express-minimal.ts')
      const browser = new ExampleBrowser()
      const account = await browser.visit(`${example.origin}/account`)
      assert.equal(account.url, `${example.origin}/account`)
      assert.equal(account.status, 200)
      assert.equal(account.text, 'Signed in as Alice Andersen <alice@example.test>')

      const signedOut = await browser.visit(`${example.origin}/auth/logout`, {
        method: 'POST',
        body: new URLSearchParams(),
      })
      assert.equal(signedOut.url, `${example.origin}/`)
      const again = await browser.agent.fetch(`${example.origin}/account`)
      assert.equal(again.status, 303, 'signed out: the page sends to the login again')
      assert.equal(again.headers.get('location'), '/auth/login?returnTo=%2Faccount')
    },
  )

  test(
    'connect-router.cjs: CommonJS require(), router() answers by method, login and logout',
    options,
    async (t) => {
      const example = await startExample(t, 'connect-router.cjs')
      const browser = new ExampleBrowser()
      const notALogin = await browser.agent.fetch(`${example.origin}/auth/login`, {
        method: 'POST',
      })
      assert.equal(notALogin.status, 404, 'POST /auth/login starts no login')
      const account = await browser.visit(`${example.origin}/account`)
      assert.equal(account.url, `${example.origin}/account`)
      assert.equal(account.text, 'Signed in as Alice Andersen <alice@example.test>')

      const signedOut = await browser.visit(`${example.origin}/auth/logout`, {
        method: 'POST',
        body: new URLSearchParams(),
      })
      assert.equal(signedOut.url, `${example.origin}/`)
      assert.match(signedOut.text, /My account/)
      assert.equal((await browser.agent.fetch(`${example.origin}/account`)).status, 303)
    },
  )

  test(
    'dpop-resource.ts: fetchResource() calls the bank with a DPoP-bound token',
    options,
    async (t) => {
      const example = await startExample(t, 'dpop-resource.ts')
      const browser = new ExampleBrowser()
      const profile = await browser.visit(`${example.origin}/profile`)
      assert.equal(profile.url, `${example.origin}/profile`)
      assert.equal(profile.status, 200)
      const body = JSON.parse(profile.text) as {
        tokenType: string
        resource: Record<string, unknown>
      }
      assert.equal(body.tokenType, 'DPoP')
      assert.deepEqual(
        { sub: body.resource.sub, name: body.resource.name, email: body.resource.email },
        { sub: 'alice', name: 'Alice Andersen', email: 'alice@example.test' },
        'the resource server answered with the signed-in user',
      )
    },
  )

  test(
    'refresh.ts: refresh(req) mints a new access token for the same grant',
    options,
    async (t) => {
      const example = await startExample(t, 'refresh.ts')
      const browser = new ExampleBrowser()
      browser.login = 'bob'
      type Summary = { generation: number; accessTokenDigest: string; expiresAt: number }
      const before = JSON.parse((await browser.visit(`${example.origin}/tokens`)).text) as Summary
      const refreshed = await browser.agent.fetch(`${example.origin}/refresh`, { method: 'POST' })
      assert.equal(refreshed.status, 200)
      const after = (await refreshed.json()) as Summary
      assert.equal(after.generation, before.generation + 1)
      assert.notEqual(after.accessTokenDigest, before.accessTokenDigest, 'a new access token')
      assert.ok(after.expiresAt >= before.expiresAt)
      const shown = JSON.parse((await browser.visit(`${example.origin}/tokens`)).text) as Summary
      assert.deepEqual(shown, after, 'the grant keeps the new tokens')
    },
  )
})
