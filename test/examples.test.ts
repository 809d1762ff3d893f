/**
 * Every feature example of `examples/` (indexed in examples/README.md), run as a user runs it,
 * `npm run example examples/<file>` (its own example banks in its process), and driven through
 * a login at those banks by a scripted browser.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { ExampleBrowser, startExample } from './support/example-browser.js'

// A bound for a loaded machine (each example starts two banks and an app), not a timing.
const options = { timeout: 180_000 }

/** The feature examples, each run by a test below. */
const EXAMPLES = [
  'express-minimal.ts',
  'connect-router.cjs',
  'dpop-resource.ts',
  'refresh.ts',
  'payment-consent.ts',
  'several-banks.ts',
  'node-http/run.ts',
  'background-sync.ts',
]

describe('the feature examples', () => {
  test('every example file is listed here and indexed in examples/README.md', () => {
    const dir = new URL('../examples/', import.meta.url)
    // npm start's entry point, and the PKCS#11 module run by test/pkcs11-signer.test.ts.
    const others = ['start.ts', 'pkcs11-signer.ts']
    const files = readdirSync(dir)
      .filter((name) => /\.(ts|cjs)$/.test(name) && !others.includes(name))
      .concat('node-http/run.ts')
    assert.deepEqual(files.sort(), [...EXAMPLES].sort())
    const index = readFileSync(new URL('README.md', dir), 'utf8')
    const section = index.slice(index.indexOf('## Examples per feature'))
    for (const file of EXAMPLES) assert.ok(section.includes(`](${file})`), `${file} is indexed`)
  })

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

  test(
    'payment-consent.ts: a client credentials token creates the consent, the user authorizes it',
    options,
    async (t) => {
      const example = await startExample(t, 'payment-consent.ts')
      const browser = new ExampleBrowser()
      const paid = await browser.visit(`${example.origin}/pay`, {
        method: 'POST',
        body: new URLSearchParams(),
      })
      assert.equal(paid.url, `${example.origin}/paid`)
      assert.equal(paid.status, 200)
      const { authorized } = JSON.parse(paid.text) as { authorized: Record<string, unknown>[] }
      assert.equal(authorized.length, 1)
      const [detail] = authorized
      assert.equal(detail?.type, 'payment_initiation')
      assert.match(String(detail?.consentId), /^pc-/, 'the consent the app created at the bank')
      assert.deepEqual(detail?.instructedAmount, { amount: '10.00', currency: 'EUR' })
    },
  )

  test('several-banks.ts: sign in at bank A, link bank B, unlink bank B', options, async (t) => {
    const example = await startExample(t, 'several-banks.ts')
    const browser = new ExampleBrowser()
    const login = (bank: string) =>
      browser.visit(`${example.origin}/auth/login?server=${bank}&returnTo=/banks`)
    assert.deepEqual(JSON.parse((await login('bank-a')).text), { 'bank-a': 'Alice Andersen' })
    browser.login = 'bob' // another account, at another bank, linked to the same user
    const both = await login('bank-b')
    assert.equal(both.url, `${example.origin}/banks`)
    assert.deepEqual(JSON.parse(both.text), {
      'bank-a': 'Alice Andersen',
      'bank-b': 'Bob Berg',
    })
    const unlinked = await browser.visit(`${example.origin}/banks/bank-b/unlink`, {
      method: 'POST',
      body: new URLSearchParams(),
    })
    assert.deepEqual(JSON.parse(unlinked.text), { 'bank-a': 'Alice Andersen' })
  })

  test('node-http/run.ts: express-fapi/core under plain node:http logs in', options, async (t) => {
    const example = await startExample(t, 'node-http/run.ts')
    const browser = new ExampleBrowser()
    const before = await browser.agent.fetch(`${example.origin}/me`)
    assert.equal(before.status, 401)
    const me = await browser.visit(`${example.origin}/login?returnTo=/me`)
    assert.equal(me.url, `${example.origin}/me`)
    assert.equal(me.status, 200)
    assert.deepEqual(JSON.parse(me.text), { sub: 'alice' })
  })

  test(
    'background-sync.ts: a job refreshes a kept grant and reads data with no browser, until logout',
    options,
    async (t) => {
      const example = await startExample(t, 'background-sync.ts', { SYNC_SECONDS: '1' })
      const browser = new ExampleBrowser()
      const home = await browser.visit(`${example.origin}/auth/login`)
      assert.equal(home.url, `${example.origin}/`)
      type Synced = {
        synced: string
        generation: number
        status: number
        data: Record<string, unknown>
      }
      const first = JSON.parse((await example.waitFor(/^\{"synced".*$/m))[0]) as Synced
      assert.equal(first.synced, 'alice')
      assert.equal(first.status, 200, 'the bank answered the refreshed token')
      assert.equal(first.data.sub, 'alice')
      assert.equal(first.generation, 1, 'the job refreshed the grant the login made (generation 0)')
      const second = await example.waitFor(/^\{"synced":"alice","generation":2,"status":200,.*$/m)
      assert.ok(second, 'and again at its next run, with the tokens it got the first time')

      await browser.visit(`${example.origin}/auth/logout`, {
        method: 'POST',
        body: new URLSearchParams(),
      })
      const ended = JSON.parse((await example.waitFor(/^\{"ended".*$/m))[0]) as { ended: string }
      assert.deepEqual(ended, { ended: 'alice' }, 'after logout, the grant refuses the job')
    },
  )
})
