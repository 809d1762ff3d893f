/**
 * The cookie problem of `form_post.jwt` against a real oidc-provider: the server's form arrives as
 * a cross-site POST, which a browser sends without the `SameSite=Lax` session cookie. The callback
 * then answers once with a same-origin page that posts the same (verified) response again, and
 * that POST carries the cookie. Requests here are shaped as Chromium sends them: the cross-site
 * POST with `Sec-Fetch-Site: cross-site` and no cookie, the relayed one with both.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import express from 'express'
import { resolveConfig } from '../src/config/index.js'
import { formPostRelayPage } from '../src/core/flows/relay.js'
import { generateJwks } from './support/keys.js'
import { frameworkName } from './support/app.js'
import { startRealLogin, type RealLogin } from './support/real-login.js'
import { decodeHtmlEntities } from './support/user-agent.js'

/** The POST a browser makes from the server's auto-submitting page: no Lax cookie. */
function crossSitePost(fx: RealLogin, body: URLSearchParams): Promise<Response> {
  return fetch(fx.app.redirectUri, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'cross-site',
    },
    body,
  })
}

interface RelayForm {
  readonly action: string
  readonly fields: URLSearchParams
}

/** Checks the relay page's headers and script, and reads its form. */
async function relayForm(answer: Response): Promise<RelayForm> {
  assert.equal(answer.status, 200)
  assert.equal(answer.headers.get('cache-control'), 'no-store')
  assert.equal(answer.headers.get('referrer-policy'), 'no-referrer')
  const csp = answer.headers.get('content-security-policy') ?? ''
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
  const html = await answer.text()
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1])
  assert.equal(scripts.length, 1)
  const hash = createHash('sha256')
    .update(scripts[0] ?? '', 'utf8')
    .digest('base64')
  assert.ok(csp.includes(`script-src 'sha256-${hash}'`), csp)
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers')
  const form = /<form id="fapi-relay" method="post" action="([^"]*)">([\s\S]*?)<\/form>/.exec(html)
  assert.ok(form, html)
  const fields = new URLSearchParams()
  for (const input of (form[2] ?? '').matchAll(
    /<input type="hidden" name="([^"]*)" value="([^"]*)">/g,
  )) {
    fields.append(decodeHtmlEntities(input[1] ?? ''), decodeHtmlEntities(input[2] ?? ''))
  }
  return { action: decodeHtmlEntities(form[1] ?? ''), fields }
}

/** The relay page's POST: same origin, so the browser sends the session cookie. */
function relayedPost(fx: RealLogin, form: RelayForm): Promise<Response> {
  return fx.browser.request(form.action, {
    method: 'POST',
    body: form.fields,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'same-origin',
    },
  })
}

/** The error code of a JSON answer, or of errorHandler()'s HTML page. */
async function errorCode(answer: Response): Promise<string> {
  const text = await answer.text()
  if (answer.headers.get('content-type')?.startsWith('text/html')) {
    return /<code>(ERR_[A-Z_]+)<\/code>/.exec(text)?.[1] ?? text.slice(0, 200)
  }
  return (JSON.parse(text) as { error: string }).error
}

for (const express of [5, 'connect'] as const) {
  describe(`form_post.jwt: the same-origin relay on ${frameworkName(express)}`, () => {
    test('a cross-site POST without the session cookie is relayed once from the app, then logs in', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'form_post.jwt' }, { express })
      const delivery = await fx.authorize()
      assert.equal(delivery.method, 'POST')
      const response = delivery.body?.get('response') ?? ''

      const form = await relayForm(await crossSitePost(fx, delivery.body ?? new URLSearchParams()))
      assert.equal(form.action, '/auth/callback')
      assert.deepEqual(
        [...form.fields],
        [
          ['response', response],
          ['fapi_relay', '1'],
        ],
      )
      assert.equal(fx.as.requests('/token'), 0, 'nothing redeemed before the session is found')

      const login = await relayedPost(fx, form)
      assert.equal(login.status, 200, await login.clone().text())
      assert.deepEqual(await login.json(), { sub: 'alice', returnTo: '/' })
      assert.equal(fx.as.requests('/token'), 1)
      assert.deepEqual(fx.app.unexpectedErrors, [])
    })

    test('a relayed POST is never relayed again: without the cookie it is ERR_TRANSACTION_NOT_FOUND', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'form_post.jwt' }, { express })
      const delivery = await fx.authorize()
      const body = new URLSearchParams(delivery.body)
      body.set('fapi_relay', '1')
      const answer = await crossSitePost(fx, body)
      assert.equal(answer.status, 400)
      assert.equal(await errorCode(answer), 'ERR_TRANSACTION_NOT_FOUND')
      assert.equal(fx.as.requests('/token'), 0)
    })

    test('a cross-site POST that carries the session cookie is handled at once (no relay)', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'form_post.jwt' }, { express })
      const delivery = await fx.authorize()
      const login = await fx.browser.request(delivery.url, {
        method: 'POST',
        body: delivery.body ?? new URLSearchParams(),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'sec-fetch-site': 'cross-site',
        },
      })
      assert.equal(login.status, 200, await login.clone().text())
      assert.deepEqual(await login.json(), { sub: 'alice', returnTo: '/' })
    })

    test('RFC 6749 §10.12: a POST that is not cross-site and lacks the cookie is ERR_TRANSACTION_NOT_FOUND (no relay)', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'form_post.jwt' }, { express })
      const delivery = await fx.authorize()
      for (const site of [undefined, 'same-origin', 'same-site']) {
        const answer = await fetch(fx.app.redirectUri, {
          method: 'POST',
          headers: {
            accept: 'application/json',
            'content-type': 'application/x-www-form-urlencoded',
            ...(site === undefined ? {} : { 'sec-fetch-site': site }),
          },
          body: delivery.body ?? new URLSearchParams(),
        })
        assert.equal(answer.status, 400, String(site))
        assert.equal(await errorCode(answer), 'ERR_TRANSACTION_NOT_FOUND')
      }
      assert.equal(fx.as.requests('/token'), 0)
    })

    test('JARM §4.4: a response that fails verification is refused before any relay', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'form_post.jwt' }, { express })
      const delivery = await fx.authorize()
      const [header, payload, signature] = (delivery.body?.get('response') ?? '').split('.')
      const flipped = `${signature?.startsWith('A') ? 'B' : 'A'}${signature?.slice(1) ?? ''}`
      const answer = await crossSitePost(
        fx,
        new URLSearchParams({ response: `${header}.${payload}.${flipped}` }),
      )
      assert.equal(answer.status, 400)
      assert.equal(await errorCode(answer), 'ERR_JARM_SIGNATURE_INVALID')
      const downgrade = await crossSitePost(fx, new URLSearchParams({ code: 'x', state: 'y' }))
      assert.equal(await errorCode(downgrade), 'ERR_RESPONSE_MODE_DOWNGRADE')
      assert.equal(fx.as.requests('/token'), 0)
    })

    test('single use: the relayed POST replayed with the cookie is ERR_TRANSACTION_NOT_FOUND', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'form_post.jwt' }, { express })
      const delivery = await fx.authorize()
      const form = await relayForm(await crossSitePost(fx, delivery.body ?? new URLSearchParams()))
      assert.equal((await relayedPost(fx, form)).status, 200)
      const again = await relayedPost(fx, form)
      assert.equal(again.status, 400)
      assert.equal(await errorCode(again), 'ERR_TRANSACTION_NOT_FOUND')
      assert.equal(fx.as.requests('/token'), 1)
    })

    test('JARM §4.3: a GET carrying "response" is never relayed, without the cookie it is ERR_TRANSACTION_NOT_FOUND', async (t) => {
      // A query.jwt login beside an allowed form_post.jwt: the response comes back as a top-level
      // GET, which carries Lax cookies; a relay page cannot help it, and would turn the documented
      // ERR_TRANSACTION_NOT_FOUND into ERR_RESPONSE_MODE_MISMATCH once its POST finds the login.
      const fx = await startRealLogin(
        t,
        { responseMode: 'query.jwt', responseModes: ['form_post.jwt'] },
        { express },
      )
      const delivery = await fx.authorize()
      assert.equal(delivery.method, 'GET')
      for (const site of ['cross-site', undefined]) {
        const answer = await fetch(delivery.url, {
          redirect: 'manual',
          headers: {
            accept: 'text/html',
            ...(site === undefined ? {} : { 'sec-fetch-site': site }),
          },
        })
        assert.equal(answer.status, 400, String(site))
        assert.equal(await errorCode(answer), 'ERR_TRANSACTION_NOT_FOUND', String(site))
      }
      assert.equal(fx.as.requests('/token'), 0)
      // With the cookie the same GET logs in.
      const login = await fx.browser.request(delivery.url, {
        headers: { 'sec-fetch-site': 'cross-site' },
      })
      assert.equal(login.status, 200, await login.clone().text())
      assert.deepEqual(await login.json(), { sub: 'alice', returnTo: '/' })
    })

    test('a denied consent is relayed too, then becomes ERR_AUTHORIZATION_ERROR', async (t) => {
      const fx = await startRealLogin(t, { responseMode: 'form_post.jwt' }, { express })
      const delivery = await fx.authorize({ deny: true })
      const form = await relayForm(await crossSitePost(fx, delivery.body ?? new URLSearchParams()))
      const answer = await relayedPost(fx, form)
      assert.equal(answer.status, 403)
      assert.equal(await errorCode(answer), 'ERR_AUTHORIZATION_ERROR')
      assert.equal(fx.as.requests('/token'), 0)
    })
  })
}

describe('form_post.jwt: the same-origin relay', () => {
  test('the relay page escapes what it repeats and posts to the redirect URI path and query', async () => {
    const keys = await generateJwks('ES256')
    const config = resolveConfig({
      issuer: 'https://as.example.com',
      clientId: 'portal',
      redirectUri: 'https://app.example.com/cb?tenant=a&x=1',
      keys: { signing: [keys.privateJwk] },
      responseMode: 'form_post.jwt',
    })
    const app = express()
    app.post('/', (_req, res) => {
      const page = formPostRelayPage(config, '"><script>alert(1)</script>')
      res.status(page.status).set(page.headers).send(page.body)
    })
    const server = createServer(app).listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
        method: 'POST',
      })
      const html = await answer.clone().text()
      assert.equal(html.match(/<script>/g)?.length, 1)
      assert.ok(html.includes('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"'))
      const form = await relayForm(answer)
      assert.equal(form.action, '/cb?tenant=a&x=1')
      assert.equal(form.fields.get('response'), '"><script>alert(1)</script>')
    } finally {
      server.close()
    }
  })
})
