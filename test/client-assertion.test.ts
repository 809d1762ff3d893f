/**
 * The `private_key_jwt` client assertion's audience and time claims (FAPI 2.0 §5.3.3.1 (5), RFC
 * 7523 §3, OIDC Core §9), and what a server's refusal of the client authentication becomes: a
 * bare 401/403 without an OAuth error body is ERR_CLIENT_AUTH_REFUSED, with what to check.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FapiConfigError, fapiClient, type FapiClientOptions } from '../src/index.js'
import { verifyWith } from './support/hostile-server.js'
import { expectError, expectLogin, login, setup, type Fixture } from './support/hostile-fixture.js'

async function assertionClaims(fx: Fixture, form: URLSearchParams | undefined) {
  assert.ok(form !== undefined, 'a form was sent')
  return verifyWith(form.get('client_assertion') ?? '', { keys: [fx.clientKey.publicJwk] })
}

describe('client assertion audience', () => {
  test('FAPI 2.0 §5.3.3.1 (5): by default aud is the issuer at PAR and token, and nbf = iat', async (t) => {
    const fx = await setup(t)
    await expectLogin(fx, await login(fx))
    for (const form of [fx.as.lastPushed().form, fx.as.tokenRequests()[0]]) {
      const claims = await assertionClaims(fx, form)
      assert.equal(claims.aud, fx.as.issuer)
      assert.equal(typeof claims.nbf, 'number', 'RFC 7523 §3: nbf is sent')
      assert.equal(claims.nbf, claims.iat)
    }
  })

  for (const profile of ['fapi1-advanced', 'oidc'] as const) {
    test(`OIDC Core §9: clientAssertionAudience "endpoint" names the PAR and token endpoint URLs (${profile})`, async (t) => {
      const fx = await setup(t, {
        client: {
          profile,
          clientAssertionAudience: 'endpoint',
          pushedAuthorizationRequests: true,
          requestObject: true,
          responseMode: 'jwt',
        },
      })
      fx.as.assertionAudience = 'endpoint'
      await expectLogin(fx, await login(fx))
      const par = await assertionClaims(fx, fx.as.lastPushed().form)
      const token = await assertionClaims(fx, fx.as.tokenRequests()[0])
      assert.equal(par.aud, `${fx.as.issuer}/par`)
      assert.equal(token.aud, `${fx.as.issuer}/token`)
      assert.equal(typeof token.nbf, 'number')
    })
  }

  const base: FapiClientOptions = {
    issuer: 'https://as.example.test',
    clientId: 'portal',
    redirectUri: 'https://portal.example.test/auth/callback',
    keys: {},
    clientAuthMethod: 'tls_client_auth',
  }
  for (const profile of ['fapi2-security', 'fapi2-message-signing'] as const) {
    test(`FAPI 2.0 §5.3.3.1 (5): clientAssertionAudience "endpoint" is refused at startup under ${profile}`, () => {
      assert.throws(
        () => fapiClient({ ...base, profile, clientAssertionAudience: 'endpoint' }),
        (error: unknown) =>
          error instanceof FapiConfigError &&
          /option "clientAssertionAudience"/.test(error.message) &&
          /issuer as the sole audience/.test(error.message) &&
          /"fapi1-advanced" and "oidc"/.test(error.message),
      )
    })
  }

  test('clientAssertionAudience must be "issuer" or "endpoint"', () => {
    assert.throws(
      () =>
        fapiClient({
          ...base,
          profile: 'oidc',
          clientAssertionAudience: 'token' as unknown as 'issuer',
        }),
      (error: unknown) =>
        error instanceof FapiConfigError && /"issuer" or "endpoint"/.test(error.message),
    )
  })
})

describe('client authentication refused', () => {
  for (const status of [401, 403]) {
    test(`a bare ${status} at PAR is ERR_CLIENT_AUTH_REFUSED, with what to check`, async (t) => {
      const fx = await setup(t)
      fx.as.fault('/par', () => ({ status, raw: '', contentType: 'text/plain' }))
      const answer = await fx.browser.request('/auth/login')
      const text = await answer.text()
      assert.equal(answer.status, 502, text)
      const body = JSON.parse(text) as { error: string; message: string }
      assert.equal(body.error, 'ERR_CLIENT_AUTH_REFUSED')
      for (const hint of ['"aud"', 'clientAssertionAudience', '"nbf"', 'public key', 'algorithm']) {
        assert.ok(body.message.includes(hint), `${hint} in: ${body.message}`)
      }
    })

    test(`a bare ${status} at the token endpoint is ERR_CLIENT_AUTH_REFUSED`, async (t) => {
      const fx = await setup(t)
      fx.as.fault('/token', () => ({ status, raw: 'Unauthorized', contentType: 'text/plain' }))
      await expectError(await fx.browser.deliver(await login(fx)), 502, 'ERR_CLIENT_AUTH_REFUSED')
      assert.equal(fx.app.logins.length, 0)
    })
  }

  test('a 401 JSON body without an OAuth error is ERR_CLIENT_AUTH_REFUSED', async (t) => {
    const fx = await setup(t)
    fx.as.fault('/par', () => ({ status: 401, body: { message: 'no' } }))
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_CLIENT_AUTH_REFUSED')
  })

  test('RFC 6749 §5.2: a 401 invalid_client at PAR is ERR_CLIENT_AUTH_REFUSED naming the audience sent', async (t) => {
    const fx = await setup(t)
    // The server wants the endpoint URL; the client sends the issuer (the default).
    fx.as.assertionAudience = 'endpoint'
    const answer = await fx.browser.request('/auth/login')
    const body = (await answer.json()) as { error: string; message: string }
    assert.equal(answer.status, 502)
    assert.equal(body.error, 'ERR_CLIENT_AUTH_REFUSED')
    for (const hint of [`the issuer "${fx.as.issuer}"`, 'clientAssertionAudience', 'clock']) {
      assert.ok(body.message.includes(hint), `${hint} in: ${body.message}`)
    }
  })

  test('RFC 6749 §5.2: a 400 invalid_client at PAR is ERR_CLIENT_AUTH_REFUSED with what to check', async (t) => {
    const fx = await setup(t)
    fx.as.fault('/par', () => ({ status: 400, body: { error: 'invalid_client' } }))
    const answer = await fx.browser.request('/auth/login')
    const body = (await answer.json()) as { error: string; message: string }
    assert.equal(body.error, 'ERR_CLIENT_AUTH_REFUSED')
    for (const hint of ['invalid_client', '"aud"', 'clock', 'public key', 'client_id "']) {
      assert.ok(body.message.includes(hint), `${hint} in: ${body.message}`)
    }
  })

  test('RFC 6749 §5.2: a 400 invalid_client at the token endpoint is ERR_CLIENT_AUTH_REFUSED naming the endpoint audience (oidc)', async (t) => {
    const fx = await setup(t, {
      client: {
        profile: 'oidc',
        clientAssertionAudience: 'endpoint',
        pushedAuthorizationRequests: true,
        requestObject: true,
        responseMode: 'jwt',
      },
    })
    fx.as.assertionAudience = 'endpoint'
    fx.as.fault('/token', () => ({ status: 400, body: { error: 'invalid_client' } }))
    const answer = await fx.browser.deliver(await login(fx))
    const body = (await answer.json()) as { error: string; message: string }
    assert.equal(body.error, 'ERR_CLIENT_AUTH_REFUSED')
    assert.ok(body.message.includes(`the endpoint URL "${fx.as.issuer}/token"`), body.message)
    assert.equal(fx.app.logins.length, 0)
  })

  test('another OAuth error at PAR (invalid_request) stays ERR_PAR_REJECTED', async (t) => {
    const fx = await setup(t)
    fx.as.fault('/par', () => ({ status: 400, body: { error: 'invalid_request' } }))
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_PAR_REJECTED')
  })
})

describe('a plain response where JARM was pushed', () => {
  for (const par of [true, false]) {
    test(`JARM §4.3: the downgrade message ${par ? 'says' : 'does not say'} that the server may ignore a pushed response_mode (${par ? 'PAR' : 'by value'})`, async (t) => {
      const fx = await setup(t, {
        client: par
          ? {}
          : { profile: 'fapi1-advanced', pushedAuthorizationRequests: false, responseMode: 'jwt' },
      })
      const state = String((await login(fx)).request.state)
      const url = new URL(fx.app.redirectUri)
      url.search = new URLSearchParams({ code: 'abc', state }).toString()
      const answer = await fx.browser.deliver({ method: 'GET', url: url.href })
      const body = (await answer.json()) as { error: string; message: string }
      assert.equal(answer.status, 400)
      assert.equal(body.error, 'ERR_RESPONSE_MODE_DOWNGRADE')
      assert.equal(/response_mode pushed through PAR/.test(body.message), par, body.message)
    })
  }
})
