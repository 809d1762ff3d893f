/**
 * mTLS (RFC 8705) against the hostile server on https with an mTLS alias server: client
 * authentication with the certificate, certificate-bound tokens, `mtls_endpoint_aliases` used for
 * exactly the calls that need the certificate, and the resource helper presenting it.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { resolveConfig } from '../src/config/index.js'
import { checkMetadata } from '../src/core/server/metadata.js'
import { aliasKey } from '../src/core/server/resource.js'
import { testCertificates } from './support/certs.js'
import {
  clientKey,
  expectError,
  expectLogin,
  login,
  setup,
  type Fixture,
} from './support/hostile-fixture.js'
import { hostileMetadata } from './support/hostile-metadata.js'
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

describe('RFC 8705 §5: the mTLS alias of userinfo is found whatever the spelling of its URL', () => {
  /** The userinfo endpoint of the metadata, spelt another way. */
  const spellings: ReadonlyArray<[string, (url: string) => string]> = [
    ['an upper-case host', (url) => url.replace('https://127.0.0.1:', 'https://LOCALHOST:')],
    ['a query', (url) => `${url}?schema=openid`],
    [
      'an upper-case scheme and host with a query',
      (url) => `${url.replace('https://127.0.0.1:', 'HTTPS://LocalHost:')}?schema=openid`,
    ],
  ]
  for (const [name, spell] of spellings) {
    test(`RFC 8705 §5 alias key: a userinfo_endpoint with ${name} is called at its mTLS alias with the certificate`, async (t) => {
      const fx = await setup(t, {
        tls: 'client',
        client: { profile: 'fapi2-message-signing', senderConstraint: 'mtls' },
      })
      fx.as.metadata = (m) => ({ ...m, userinfo_endpoint: spell(String(m.userinfo_endpoint)) })
      await expectLogin(fx, await login(fx))
      const answer = await fx.browser.request('/userinfo-claims')
      assert.equal(answer.status, 200, await answer.clone().text())
      assert.deepEqual(calls(fx, '/userinfo'), ['alias portal'])
    })
  }

  test('RFC 8705 §5 alias key: the table and the lookup use one key (case, :443, query and fragment dropped)', () => {
    const spelt = [
      'https://as.example/userinfo',
      'HTTPS://AS.EXAMPLE/userinfo',
      'https://As.Example:443/userinfo',
      'https://as.example/userinfo?schema=openid',
      'https://as.example:443/userinfo?a=1#top',
    ]
    assert.deepEqual(new Set(spelt.map(aliasKey)), new Set(['https://as.example/userinfo']))
    assert.notEqual(aliasKey('https://as.example:8443/userinfo'), aliasKey(spelt[0] ?? ''))
    assert.notEqual(aliasKey('https://as.example/UserInfo'), aliasKey(spelt[0] ?? ''))
  })

  test('RFC 8705 §5 alias key: metadata spelling :443 with a query is keyed as a resource call to the plain URL', async () => {
    const { client } = await testCertificates()
    const issuer = 'https://as.example'
    const config = resolveConfig({
      issuer,
      clientId: 'portal',
      redirectUri: 'https://app.example/auth/callback',
      keys: { signing: [(await clientKey('ES256')).privateJwk] },
      senderConstraint: 'mtls',
      tls: { cert: client.cert, key: client.key },
    })
    const metadata = checkMetadata(
      {
        ...hostileMetadata(issuer, 'https://mtls.as.example'),
        userinfo_endpoint: 'https://AS.example:443/userinfo?schema=openid',
      },
      config,
    )
    assert.deepEqual(metadata.resourceAliases, {
      'https://as.example/userinfo': 'https://mtls.as.example/userinfo',
    })
  })
})
