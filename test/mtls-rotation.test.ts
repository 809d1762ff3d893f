/**
 * Transport certificate rotation without a restart (`updateTls`), against a real oidc-provider
 * with mTLS aliases: new connections present the new certificate; a token bound to the old one is
 * refused by the resource server until the login is refreshed, and the refreshed tokens are bound
 * to the new certificate (RFC 8705 §3).
 */
import assert from 'node:assert/strict'
import { X509Certificate, createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { FapiConfigError } from '../src/index.js'
import { testCertificates } from './support/certs.js'
import { startFapi2Login, type Fapi2Login } from './support/fapi2-fixture.js'

/** The `x5t#S256` a certificate-bound token carries for `pem` (RFC 8705 §3.1). */
function thumbprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url')
}

/** The thumbprint the server bound the login's current access token to. */
async function boundTo(fx: Fapi2Login): Promise<unknown> {
  const stored = (await (await fx.browser.request('/stored')).json()) as {
    tokens: { accessToken: string }
  }
  const { AccessToken } = fx.as.provider as unknown as {
    AccessToken: { find(token: string): Promise<Record<string, unknown> | undefined> }
  }
  return (await AccessToken.find(stored.tokens.accessToken))?.['x5t#S256']
}

describe('transport certificate rotation', () => {
  test('RFC 8705 §3: after updateTls, the old-bound token is refused, a refresh binds the tokens to the new certificate', async (t) => {
    const certs = await testCertificates()
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'mtls',
      clientAuthMethod: 'tls_client_auth',
      refreshTokens: true,
    })
    const landed = await fx.browser.deliver(await fx.authorize())
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.equal(await boundTo(fx), thumbprint(certs.client.cert))
    assert.equal((await fx.resource(fx.as.userinfoEndpoint)).status, 200)

    fx.app.client.updateTls({ ca: certs.serverCa, ...certs.clientNext })
    assert.equal(
      (await fx.resource(fx.as.userinfoEndpoint)).status,
      401,
      'the token is bound to the old certificate; the new one is presented',
    )
    const refreshed = await fx.browser.request('/refresh', { method: 'POST' })
    assert.equal(refreshed.status, 200, await refreshed.clone().text())
    assert.equal(await boundTo(fx), thumbprint(certs.clientNext.cert))
    const userinfo = await fx.resource(fx.as.userinfoEndpoint)
    assert.deepEqual(userinfo, { status: 200, body: { sub: 'alice', name: 'Test User' } })
    assert.deepEqual(fx.app.unexpectedErrors, [])
  })

  test('an update is checked like the startup tls: a mistake throws and keeps the current material', async (t) => {
    const certs = await testCertificates()
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'mtls',
      clientAuthMethod: 'tls_client_auth',
    })
    const { client } = fx.app
    const refused = [
      { ca: certs.serverCa, cert: certs.clientNext.cert, key: certs.client.key },
      { ca: certs.serverCa, cert: certs.clientNext.cert },
      { ca: certs.serverCa },
      { ca: certs.serverCa, cert: 'not a certificate', key: certs.clientNext.key },
    ]
    for (const tls of refused) assert.throws(() => client.updateTls(tls), FapiConfigError)
    const landed = await fx.browser.deliver(await fx.authorize())
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.equal(await boundTo(fx), thumbprint(certs.client.cert), 'the material was kept')
  })
})
