/**
 * The callback request itself (JARM §4.3, RFC 9700 §4.8): only the requested response mode is
 * accepted, exactly one `response` parameter, bounded bodies of the right type, and garbage is a
 * 4xx with a code, never a 500. On Express 5 and Express 4.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { describe, test } from 'node:test'
import { frameworkName, type AppBrowser } from './support/app.js'
import { segment } from './support/hostile-jwt.js'
import {
  expectError,
  expectLogin,
  expectRejected,
  login,
  setup,
  type Fixture,
} from './support/hostile-fixture.js'

function callbackUrl(fx: Fixture, query: string): string {
  return `${fx.app.redirectUri}${query}`
}

function post(browser: AppBrowser, url: string, body: string, type: string): Promise<Response> {
  return browser.request(url, { method: 'POST', body, headers: { 'content-type': type } })
}

/** A chunked POST without content-length, as a streaming client would send it. */
async function chunkedPost(fx: Fixture, bytes: number): Promise<{ status: number; body: string }> {
  const target = new URL(fx.app.redirectUri)
  const req = httpRequest(target, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      cookie: fx.browser.cookieHeader,
      'content-type': 'application/x-www-form-urlencoded',
      'transfer-encoding': 'chunked',
    },
  })
  req.on('error', () => undefined)
  const chunk = `response=${'a'.repeat(1000)}`
  for (let sent = 0; sent < bytes && !req.destroyed; sent += chunk.length) req.write(chunk)
  req.end()
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  let body = ''
  for await (const part of res) body += String(part)
  return { status: res.statusCode ?? 0, body }
}

const GARBAGE: readonly [string, string][] = [
  ['characters outside base64url', '!!!.###.$$$'],
  ['segments that are not base64url JSON', 'a.b.c'],
  ['two segments', `${segment({ alg: 'PS256' })}.${segment({ iss: 'x' })}`],
  ['four segments', 'a.b.c.d'],
  ['six segments', 'a.b.c.d.e.f'],
  ['a JSON array payload', `${segment({ alg: 'PS256' })}.${segment([1, 2])}.c2ln`],
  ['a JSON string payload', `${segment({ alg: 'PS256' })}.${segment('x')}.c2ln`],
  ['a JSON array header', `${segment(['PS256'])}.${segment({})}.c2ln`],
  ['a header without alg', `${segment({ kid: 'x' })}.${segment({})}.c2ln`],
  ['unicode', 'é.ü.☃'],
  ['a NUL byte', 'a\u0000b.c.d'],
]

for (const express of [5, 4, 'connect'] as const) {
  describe(`callback input on ${frameworkName(express)}`, () => {
    test('JARM §4.3, RFC 9700 §4.8: rejects a plain ?code=&state= response (downgrade)', async (t) => {
      const fx = await setup(t, { express })
      const { request } = await login(fx)
      const url = callbackUrl(fx, `?code=abc&state=${String(request.state)}`)
      await expectRejected(fx, { method: 'GET', url }, 400, 'ERR_RESPONSE_MODE_DOWNGRADE')
    })

    test('JARM §4.3: rejects a plain ?error= response (downgrade)', async (t) => {
      const fx = await setup(t, { express })
      const { request } = await login(fx)
      const url = callbackUrl(fx, `?error=access_denied&state=${String(request.state)}`)
      await expectRejected(fx, { method: 'GET', url }, 400, 'ERR_RESPONSE_MODE_DOWNGRADE')
    })

    test('JARM §4.3: rejects a plain form-posted code where form_post.jwt was requested', async (t) => {
      const fx = await setup(t, { express, client: { responseMode: 'form_post.jwt' } })
      const { request } = await login(fx)
      const body = new URLSearchParams({ code: 'abc', state: String(request.state) })
      await expectRejected(
        fx,
        { method: 'POST', url: fx.app.redirectUri, body },
        400,
        'ERR_RESPONSE_MODE_DOWNGRADE',
      )
    })

    for (const mode of ['jwt', 'query.jwt'] as const) {
      test(`JARM §4.3: rejects a POST when ${mode} is configured`, async (t) => {
        const fx = await setup(t, { express, client: { responseMode: mode } })
        const response = await login(fx)
        const body = new URLSearchParams({ response: response.jwt })
        await expectRejected(
          fx,
          { method: 'POST', url: fx.app.redirectUri, body },
          400,
          'ERR_RESPONSE_MODE_MISMATCH',
        )
      })
    }

    test('JARM §4.3: rejects a GET with response when form_post.jwt is configured', async (t) => {
      const fx = await setup(t, { express, client: { responseMode: 'form_post.jwt' } })
      const response = await login(fx)
      const url = callbackUrl(fx, `?response=${response.jwt}`)
      await expectRejected(fx, { method: 'GET', url }, 400, 'ERR_RESPONSE_MODE_MISMATCH')
    })

    test('JARM §4.3: rejects a duplicated response parameter', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      const url = `${response.url}&response=${response.jwt}`
      await expectRejected(fx, { method: 'GET', url }, 400, 'ERR_CALLBACK_MALFORMED')
    })

    test('JARM §4.3: rejects a duplicated response in a form body', async (t) => {
      const fx = await setup(t, { express, client: { responseMode: 'form_post.jwt' } })
      const response = await login(fx)
      const body = new URLSearchParams([
        ['response', response.jwt],
        ['response', response.jwt],
      ])
      await expectRejected(
        fx,
        { method: 'POST', url: fx.app.redirectUri, body },
        400,
        'ERR_CALLBACK_MALFORMED',
      )
    })

    for (const query of ['?response[]=x', '?response=', '', '?response[a]=b&x=1']) {
      test(`JARM §4.3: rejects a callback with "${query}" as ERR_CALLBACK_MALFORMED`, async (t) => {
        const fx = await setup(t, { express })
        await login(fx)
        const url = callbackUrl(fx, query)
        await expectRejected(fx, { method: 'GET', url }, 400, 'ERR_CALLBACK_MALFORMED')
      })
    }

    test('JARM §4.3: a form body over maxCallbackBodyBytes is 413', async (t) => {
      const fx = await setup(t, {
        express,
        client: { responseMode: 'form_post.jwt', maxCallbackBodyBytes: 1024 },
      })
      await login(fx)
      const answer = await post(
        fx.browser,
        fx.app.redirectUri,
        `response=${'a'.repeat(4096)}`,
        'application/x-www-form-urlencoded',
      )
      await expectError(answer, 413, 'ERR_CALLBACK_BODY_TOO_LARGE')
      assert.equal(fx.as.requests('/token'), 0)
      assert.deepEqual(fx.app.unexpectedErrors, [])
    })

    test('JARM §4.3: a chunked form body over maxCallbackBodyBytes is 413', async (t) => {
      const fx = await setup(t, {
        express,
        client: { responseMode: 'form_post.jwt', maxCallbackBodyBytes: 1024 },
      })
      await login(fx)
      const answer = await chunkedPost(fx, 64 << 10)
      assert.equal(answer.status, 413, answer.body)
      assert.equal(
        (JSON.parse(answer.body) as { error: string }).error,
        'ERR_CALLBACK_BODY_TOO_LARGE',
      )
      assert.equal(fx.as.requests('/token'), 0)
      assert.deepEqual(fx.app.unexpectedErrors, [])
    })

    for (const type of ['text/plain', 'application/json', 'multipart/form-data; boundary=x']) {
      test(`JARM §4.3: a form_post.jwt body of type ${type.split(';')[0]} is 415`, async (t) => {
        const fx = await setup(t, { express, client: { responseMode: 'form_post.jwt' } })
        const response = await login(fx)
        const answer = await post(fx.browser, fx.app.redirectUri, `response=${response.jwt}`, type)
        await expectError(answer, 415, 'ERR_CALLBACK_CONTENT_TYPE')
        assert.equal(fx.as.requests('/token'), 0)
        assert.deepEqual(fx.app.unexpectedErrors, [])
      })
    }

    test('JARM §4.4 (final): outer code and state beside a valid response are ignored', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      const url = new URL(response.url)
      url.search = `?code=injected&state=injected&${url.searchParams.toString()}&code=injected2`
      await expectLogin(fx, { method: 'GET', url: url.href })
      assert.deepEqual(
        fx.as.tokenRequests().map((form) => form.get('code')),
        [response.code],
      )
    })

    test('RFC 9207 §2.4: an outer iss of another issuer beside a valid JARM response is refused', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      const url = new URL(response.url)
      url.searchParams.set('iss', 'https://evil.example')
      await expectRejected(
        fx,
        { method: 'GET', url: url.href },
        400,
        'ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH',
      )
    })

    test('RFC 9207 §2.4: an outer iss equal to the issuer beside a JARM response is accepted', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      const url = new URL(response.url)
      url.searchParams.set('iss', fx.as.issuer)
      await expectLogin(fx, { method: 'GET', url: url.href })
    })

    test('JARM §4.4 (final): outer params beside a valid form-posted response are ignored', async (t) => {
      const fx = await setup(t, { express, client: { responseMode: 'form_post.jwt' } })
      const response = await login(fx)
      const body = new URLSearchParams([
        ['code', 'injected'],
        ['response', response.jwt],
        ['state', 'x'],
      ])
      await expectLogin(fx, { method: 'POST', url: `${fx.app.redirectUri}?code=q`, body })
      assert.equal(fx.as.tokenRequests()[0]?.get('code'), response.code)
    })

    test('RFC 6749 §10.12: a callback without the session cookie is ERR_TRANSACTION_NOT_FOUND', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      await expectRejected(fx, response, 400, 'ERR_TRANSACTION_NOT_FOUND', fx.newBrowser())
      // The real browser can still finish.
      await expectLogin(fx, response)
    })

    test('the callback refuses other methods with 405', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      const answer = await fx.browser.request(response.url, { method: 'PUT' })
      await expectError(answer, 405, 'ERR_CALLBACK_METHOD_NOT_ALLOWED')
      assert.equal(fx.as.requests('/token'), 0)
    })

    test('JARM §4.4: a form-posted response of 20,000 characters is ERR_JARM_MALFORMED', async (t) => {
      const fx = await setup(t, { express, client: { responseMode: 'form_post.jwt' } })
      const response = await login(fx)
      const long = `${response.jwt}${'A'.repeat(20_000)}`
      const body = new URLSearchParams({ response: long })
      await expectRejected(
        fx,
        { method: 'POST', url: fx.app.redirectUri, body },
        400,
        'ERR_JARM_MALFORMED',
      )
    })

    for (const [name, value] of GARBAGE) {
      test(`JARM §4.4: a response value with ${name} is a 400 with a code, never a 500`, async (t) => {
        const fx = await setup(t, { express })
        await login(fx)
        const url = callbackUrl(fx, `?response=${encodeURIComponent(value)}`)
        const answer = await fx.browser.request(url)
        const body = (await answer.json()) as { error: string }
        assert.equal(answer.status, 400, JSON.stringify(body))
        assert.match(body.error, /^ERR_JARM_(MALFORMED|ALG_NOT_ALLOWED|ENCRYPTED)$/)
        assert.equal(fx.as.requests('/token'), 0)
        assert.equal(fx.as.requests('/jwks'), 0)
        assert.equal(fx.app.logins.length, 0)
        assert.deepEqual(fx.app.unexpectedErrors, [])
      })
    }
  })
}

test('FAPI 1.0 Baseline §5.2.3 (4): a response at another path than the redirect URI is ERR_REDIRECT_URI_MISMATCH', async (t) => {
  const fx = await setup(t, { redirectPath: '/other/callback' })
  const response = await login(fx)
  const url = new URL(response.url)
  assert.equal(url.pathname, '/other/callback')
  url.pathname = '/auth/callback'
  await expectRejected(fx, { method: 'GET', url: url.href }, 400, 'ERR_REDIRECT_URI_MISMATCH')
})
