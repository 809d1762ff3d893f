/**
 * `fragment.jwt` (JARM §4.3) against a real oidc-provider: the fragment never reaches the server, so
 * the callback answers a bare GET with a relay page that reads `location.hash`, drops it from the
 * history (RFC 9700 §4.2) and posts it back; the page's script runs here in a small DOM stand-in.
 * A plain `?code=` is still a downgrade, a `?response=` is still a mode mismatch.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { runInNewContext } from 'node:vm'
import { frameworkName } from './support/app.js'
import { startRealLogin } from './support/real-login.js'
import { decodeHtmlEntities } from './support/user-agent.js'

interface RelayRun {
  /** The address `history.replaceState` was given. */
  readonly replacedWith: string | undefined
  /** The fields of the form when the script submitted it (undefined: never submitted). */
  readonly submitted: URLSearchParams | undefined
  readonly action: string
}

/** The relay page's only inline script, checked against the CSP's hash. */
function inlineScript(html: string, csp: string): string {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1])
  assert.equal(scripts.length, 1, 'one inline script')
  const [script] = scripts as [string]
  const hash = createHash('sha256').update(script, 'utf8').digest('base64')
  assert.ok(csp.includes(`script-src 'sha256-${hash}'`), csp)
  return script
}

/** Runs the relay page's script against a stand-in for the few DOM APIs it uses. */
function runRelayScript(html: string, csp: string, address: URL): RelayRun {
  const action = decodeHtmlEntities(
    /<form id="fapi-relay" method="post" action="([^"]*)">/.exec(html)?.[1] ?? '',
  )
  const fields: { name: string; value: string }[] = []
  let submitted: URLSearchParams | undefined
  let replacedWith: string | undefined
  const form = {
    appendChild(input: { name: string; value: string }) {
      fields.push(input)
    },
  }
  class HTMLFormElement {
    submit(this: unknown) {
      assert.equal(this, form)
      submitted = new URLSearchParams(
        fields.map(({ name, value }): [string, string] => [name, value]),
      )
    }
  }
  runInNewContext(inlineScript(html, csp), {
    URLSearchParams,
    HTMLFormElement,
    location: { hash: address.hash, pathname: address.pathname, search: address.search },
    history: {
      replaceState(_state: unknown, _title: string, url: string) {
        replacedWith = url
      },
    },
    document: {
      getElementById: (id: string) => (id === 'fapi-relay' ? form : null),
      createElement: () => ({ type: '', name: '', value: '' }),
    },
  })
  return { replacedWith, submitted, action }
}

for (const express of [5, 'connect'] as const) {
  describe(`fragment.jwt: the relay page on ${frameworkName(express)}`, () => {
    test('JARM §4.3: the response comes in the fragment; a bare GET gets the relay page, which posts it back, and the login completes', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'fragment.jwt' }, { express })
      const delivery = await fx.authorize()
      const address = new URL(delivery.url)
      assert.equal(delivery.method, 'GET')
      assert.equal(address.search, '', 'nothing in the query')
      assert.match(address.hash, /^#response=/)

      // What the server receives of that address: no fragment.
      const page = await fx.browser.request(`${address.origin}${address.pathname}`, {
        headers: { accept: 'text/html' },
      })
      assert.equal(page.status, 200)
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
      assert.equal(page.headers.get('cache-control'), 'no-store')
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer')
      const csp = page.headers.get('content-security-policy') ?? ''
      assert.match(csp, /default-src 'none'/)
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
      const html = await page.text()
      assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers')
      assert.equal(fx.as.requests('/token'), 0)

      const run = runRelayScript(html, csp, address)
      assert.equal(run.action, '/auth/callback')
      assert.equal(run.replacedWith, '/auth/callback', 'the fragment is dropped from history')
      assert.deepEqual([...(run.submitted ?? [])], [...new URLSearchParams(address.hash.slice(1))])

      // The browser posts the form from the app's own origin, with the session cookie.
      const login = await fx.browser.deliver({
        method: 'POST',
        url: run.action,
        body: run.submitted ?? new URLSearchParams(),
      })
      assert.equal(login.status, 200, await login.clone().text())
      assert.deepEqual(await login.json(), { sub: 'alice', returnTo: '/' })
      assert.equal(fx.as.requests('/token'), 1)
      assert.deepEqual(await (await fx.browser.request('/me')).json(), { sub: 'alice' })

      // Single use, as in every mode.
      const replay = await fx.browser.deliver({
        method: 'POST',
        url: run.action,
        body: run.submitted ?? new URLSearchParams(),
      })
      assert.equal(replay.status, 400)
      assert.equal(((await replay.json()) as { error: string }).error, 'ERR_TRANSACTION_NOT_FOUND')
      assert.deepEqual(fx.app.unexpectedErrors, [])
    })

    test('JARM §4.3: a denied consent in the fragment becomes ERR_AUTHORIZATION_ERROR, no token request', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'fragment.jwt' }, { express })
      const address = new URL((await fx.authorize({ deny: true })).url)
      const answer = await fx.browser.deliver({
        method: 'POST',
        url: address.pathname,
        body: new URLSearchParams(address.hash.slice(1)),
      })
      assert.equal(answer.status, 403)
      assert.equal(((await answer.json()) as { error: string }).error, 'ERR_AUTHORIZATION_ERROR')
      assert.equal(fx.as.requests('/token'), 0)
    })

    for (const query of [
      '?code=abc&state=xyz',
      '?error=access_denied&state=xyz',
      '?iss=x&code=y',
    ]) {
      test(`RFC 9700 §4.8: a GET with ${query} is ERR_RESPONSE_MODE_DOWNGRADE, not a relay page`, async (t) => {
        const fx = await startRealLogin(t, { responseMode: 'fragment.jwt' }, { express })
        const answer = await fx.browser.request(`/auth/callback${query}`)
        assert.equal(answer.status, 400)
        assert.equal(
          ((await answer.json()) as { error: string }).error,
          'ERR_RESPONSE_MODE_DOWNGRADE',
        )
      })
    }

    test('JARM §4.3: a plain code posted to a fragment.jwt callback is ERR_RESPONSE_MODE_DOWNGRADE', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'fragment.jwt' }, { express })
      await fx.browser.startLogin()
      const answer = await fx.browser.deliver({
        method: 'POST',
        url: '/auth/callback',
        body: new URLSearchParams({ code: 'abc', state: 'xyz' }),
      })
      assert.equal(answer.status, 400)
      assert.equal(
        ((await answer.json()) as { error: string }).error,
        'ERR_RESPONSE_MODE_DOWNGRADE',
      )
    })

    test('JARM §4.3: a response in the query where fragment.jwt was requested is ERR_RESPONSE_MODE_MISMATCH', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'fragment.jwt' }, { express })
      const address = new URL((await fx.authorize()).url)
      const answer = await fx.browser.request(`/auth/callback?${address.hash.slice(1)}`)
      assert.equal(answer.status, 400)
      assert.equal(((await answer.json()) as { error: string }).error, 'ERR_RESPONSE_MODE_MISMATCH')
      assert.equal(fx.as.requests('/token'), 0)
    })

    test('a fragment.jwt response delivered to a query.jwt client is ERR_RESPONSE_MODE_MISMATCH (POST)', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'query.jwt' }, { express })
      const answer = await fx.browser.deliver({
        method: 'POST',
        url: '/auth/callback',
        body: new URLSearchParams({ response: 'a.b.c' }),
      })
      assert.equal(answer.status, 400)
      assert.equal(((await answer.json()) as { error: string }).error, 'ERR_RESPONSE_MODE_MISMATCH')
    })

    test('the relay page script is the same for every request (its hash is fixed) and holds no data', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'fragment.jwt' }, { express })
      const pages = await Promise.all(
        [1, 2].map(async () => {
          const page = await fx.browser.request('/auth/callback', {
            headers: { accept: 'text/html' },
          })
          return { csp: page.headers.get('content-security-policy'), html: await page.text() }
        }),
      )
      assert.equal(pages[0]?.csp, pages[1]?.csp)
      assert.equal(pages[0]?.html, pages[1]?.html)
    })
  })
}
