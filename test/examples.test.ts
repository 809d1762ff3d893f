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
})
