/**
 * mTLS (RFC 8705) against the hostile server on https with an mTLS alias server: client
 * authentication with the certificate, certificate-bound tokens, `mtls_endpoint_aliases` used for
 * exactly the calls that need the certificate, and the resource helper presenting it.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { expectError, expectLogin, login, setup, type Fixture } from './support/hostile-fixture.js'
import { without } from './support/hostile-jwt.js'

/** Which server each call went to, and with which certificate subject. */
function calls(fx: Fixture, path: string): string[] {
  return fx.as.bindings.connections
    .filter((call) => call.path === path)
    .map((call) => `${call.via}${call.subject === undefined ? '' : ` ${call.subject}`}`)
}

async function resource(fx: Fixture, url: string): Promise<{ status: number; body: string }> {
  const answer = await fx.browser.request(`/resource?${new URLSearchParams({ url })}`)
  const text = await answer.text()
  assert.equal(answer.status, 200, text)
  return JSON.parse(text) as { status: number; body: string }
}

describe('mTLS client authentication and certificate-bound tokens', () => {
  test('RFC 8705 §2, §5, specs.md §2: tls_client_auth sends PAR and token to the mTLS aliases with the certificate, and no assertion', async (t) => {
    const fx = await setup(t, {
      tls: 'client',
      client: {
        profile: 'fapi2-security',
        clientAuthMethod: 'tls_client_auth',
        senderConstraint: 'mtls',
      },
    })
    await expectLogin(fx, await login(fx))
    assert.deepEqual(calls(fx, '/par'), ['alias portal'])
    assert.deepEqual(calls(fx, '/token'), ['alias portal'])
    for (const form of [fx.as.lastPushed().form, ...fx.as.tokenRequests()]) {
      assert.equal(form.get('client_id'), 'portal')
      assert.equal(form.has('client_assertion'), false)
    }
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'Bearer')
  })

  test('RFC 8705 §3, §5: private_key_jwt with certificate-bound tokens: PAR on the main host without certificate, token at the alias with it', async (t) => {
    const fx = await setup(t, {
      tls: 'client',
      client: { profile: 'fapi2-message-signing', senderConstraint: 'mtls' },
    })
    await expectLogin(fx, await login(fx))
    assert.deepEqual(calls(fx, '/par'), ['main'])
    assert.deepEqual(calls(fx, '/token'), ['alias portal'])
    assert.equal(fx.as.tokenRequests()[0]?.has('client_assertion'), true)
  })

  test('RFC 8705 §2.2: self_signed_tls_client_auth presents the self-signed certificate at the aliases', async (t) => {
    const fx = await setup(t, {
      tls: 'self-signed',
      client: {
        profile: 'fapi2-security',
        clientAuthMethod: 'self_signed_tls_client_auth',
        senderConstraint: 'dpop',
      },
    })
    await expectLogin(fx, await login(fx))
    assert.deepEqual(calls(fx, '/par'), ['alias portal-self-signed'])
    assert.deepEqual(calls(fx, '/token'), ['alias portal-self-signed'])
    const jwks = (await (await fx.browser.request('/jwks')).json()) as { keys: { x5c?: unknown }[] }
    assert.equal(jwks.keys.filter((key) => Array.isArray(key.x5c)).length, 1, 'x5c in jwks()')
  })

  test('RFC 8705 §3, FAPI 2.0 §5.3.3.1 (3): the resource helper calls the userinfo alias with the certificate', async (t) => {
    const fx = await setup(t, {
      tls: 'client',
      client: { profile: 'fapi2-message-signing', senderConstraint: 'mtls' },
    })
    await expectLogin(fx, await login(fx))
    const answer = await resource(fx, `${fx.as.issuer}/userinfo`)
    assert.deepEqual(answer, { status: 200, body: '{"sub":"user-1"}' })
    assert.deepEqual(calls(fx, '/userinfo'), ['alias portal'])
    assert.deepEqual(fx.as.violations(), [])
  })

  test('RFC 8705 §3: another resource server gets the certificate at its own URL', async (t) => {
    const fx = await setup(t, {
      tls: 'client',
      client: { profile: 'fapi2-message-signing', senderConstraint: 'mtls' },
    })
    await expectLogin(fx, await login(fx))
    const answer = await resource(fx, `${fx.as.mtlsOrigin ?? ''}/userinfo`)
    assert.equal(answer.status, 200)
  })

  test('RFC 8705 §3.3: a server without tls_client_certificate_bound_access_tokens is ERR_DISCOVERY_INVALID', async (t) => {
    const fx = await setup(t, { tls: 'client', client: { senderConstraint: 'mtls' } })
    fx.as.metadata = (m) => without(m, 'tls_client_certificate_bound_access_tokens')
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_DISCOVERY_INVALID')
  })

  test('RFC 8705 §5: an mTLS alias that is not https is ERR_DISCOVERY_INVALID', async (t) => {
    const fx = await setup(t, { tls: 'client', client: { senderConstraint: 'mtls' } })
    fx.as.metadata = (m) => ({
      ...m,
      mtls_endpoint_aliases: { token_endpoint: 'http://127.0.0.1:1/token' },
    })
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_DISCOVERY_INVALID')
  })

  test('RFC 8705 §5: without mtls_endpoint_aliases, the usual endpoints are used for mTLS', async (t) => {
    const fx = await setup(t, {
      tls: 'client',
      client: { clientAuthMethod: 'tls_client_auth', senderConstraint: 'dpop' },
    })
    fx.as.metadata = (m) => without(m, 'mtls_endpoint_aliases')
    // This server's main host requests no certificate, so it sees none and refuses the client
    // (invalid_client: a refused client authentication).
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_CLIENT_AUTH_REFUSED')
    assert.deepEqual(calls(fx, '/par'), ['main'])
  })

  test('FAPI 2.0 §5.2.1, RFC 9525: a server certificate from a CA the client does not trust is ERR_AS_UNREACHABLE', async (t) => {
    const fx = await setup(t, { tls: 'none' })
    const untrusting = await setup(t, {
      client: { issuer: fx.as.issuer, tls: {} },
    })
    await expectError(await untrusting.browser.request('/auth/login'), 502, 'ERR_AS_UNREACHABLE')
  })
})
