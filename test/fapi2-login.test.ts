/**
 * Full logins against a real oidc-provider with DPoP, mTLS and encryption, for every profile and
 * every binding, then the resource helper calling the server's userinfo endpoint, which checks the
 * DPoP proof (with `ath`) or the certificate the token is bound to.
 */
import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import { testCertificates } from './support/certs.js'
import { startFapi2Login, type Fapi2Case, type Fapi2Login } from './support/fapi2-fixture.js'
import { fetchTrusting } from './support/tls-fetch.js'

async function fullLogin(t: TestContext, c: Fapi2Case): Promise<Fapi2Login & { url: URL }> {
  const fx = await startFapi2Login(t, c)
  const delivery = await fx.authorize()
  const landed = await fx.browser.deliver(delivery)
  assert.equal(landed.status, 200, await landed.clone().text())
  assert.deepEqual(fx.app.unexpectedErrors, [])
  assert.equal(fx.app.logins[0]?.claims.sub, 'alice')
  assert.equal(fx.app.logins[0]?.claims.iss, fx.as.issuer)
  return { ...fx, url: new URL(delivery.url) }
}

async function expectUserinfo(fx: Fapi2Login): Promise<void> {
  const userinfo = await fx.resource(fx.as.userinfoEndpoint)
  assert.equal(userinfo.status, 200, JSON.stringify(userinfo))
  assert.deepEqual(userinfo.body, { sub: 'alice', name: 'Test User' })
}

/** The token as a plain bearer token, without proof or certificate: a bound token fails. */
async function bareBearer(fx: Fapi2Login, tls: boolean): Promise<number> {
  const token = fx.app.logins[0]?.tokens.accessToken ?? ''
  const send = tls ? fetchTrusting((await testCertificates()).serverCa) : fetch
  const answer = await send(fx.as.userinfoEndpoint, {
    headers: { authorization: `Bearer ${token}` },
  })
  return answer.status
}

describe('profile fapi2-security', () => {
  test('DPoP (default), plain query with RFC 9207 iss, server nonces required everywhere: login and userinfo', async (t) => {
    const fx = await fullLogin(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      dpopNonces: true,
    })
    assert.equal(fx.url.searchParams.get('iss'), fx.as.issuer)
    assert.equal(fx.url.searchParams.has('response'), false)
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'DPoP')
    await expectUserinfo(fx)
    assert.equal(await bareBearer(fx, false), 401, 'the token is DPoP-bound at the server')
  })

  test('mTLS binding with tls_client_auth: PAR and token at the mTLS aliases, userinfo over mTLS', async (t) => {
    const fx = await fullLogin(t, {
      profile: 'fapi2-security',
      senderConstraint: 'mtls',
      clientAuthMethod: 'tls_client_auth',
    })
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'Bearer')
    assert.equal(fx.as.requests('mtls', '/request'), 1)
    assert.equal(fx.as.requests('main', '/request'), 0)
    assert.equal(fx.as.requests('mtls', '/token'), 1)
    assert.equal(fx.as.requests('main', '/token'), 0)
    await expectUserinfo(fx)
    assert.equal(fx.as.requests('mtls', '/me'), 1, 'the userinfo alias')
    assert.equal(await bareBearer(fx, true), 401, 'the token is certificate-bound at the server')
  })

  test('senderConstraint none (explicit opt-out): a plain Bearer token', async (t) => {
    const fx = await fullLogin(t, { profile: 'fapi2-security', senderConstraint: 'none' })
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'Bearer')
    await expectUserinfo(fx)
  })
})

describe('profile fapi2-message-signing', () => {
  test('DPoP, JARM, request object encrypted to the server, JARM and ID token encrypted to the client', async (t) => {
    const fx = await fullLogin(t, {
      profile: 'fapi2-message-signing',
      senderConstraint: 'dpop',
      encryption: { requestObject: true, idToken: true, authorizationResponse: true },
    })
    const jwe = decodeProtectedHeader(fx.url.searchParams.get('response') ?? '')
    assert.deepEqual([jwe.alg, jwe.enc, jwe.kid], ['RSA-OAEP-256', 'A128CBC-HS256', 'portal-enc'])
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'DPoP')
    await expectUserinfo(fx)
  })

  test('mTLS binding with self_signed_tls_client_auth (certificate published by jwks())', async (t) => {
    const fx = await fullLogin(t, {
      profile: 'fapi2-message-signing',
      senderConstraint: 'mtls',
      clientAuthMethod: 'self_signed_tls_client_auth',
    })
    assert.equal(fx.as.requests('mtls', '/request'), 1)
    assert.equal(fx.as.requests('mtls', '/token'), 1)
    await expectUserinfo(fx)
  })

  test('DPoP with private_key_jwt over https', async (t) => {
    const fx = await fullLogin(t, {
      profile: 'fapi2-message-signing',
      senderConstraint: 'dpop',
      tls: true,
      dpopNonces: true,
    })
    assert.equal(fx.as.requests('main', '/request'), 2, 'one retry with the nonce')
    await expectUserinfo(fx)
  })
})

describe('profile fapi1-advanced', () => {
  for (const par of [true, false]) {
    test(`mTLS binding (default) with private_key_jwt, ${par ? 'PAR' : 'by value'}: token at the alias`, async (t) => {
      const fx = await fullLogin(t, { profile: 'fapi1-advanced', senderConstraint: 'mtls', par })
      assert.equal(fx.as.requests('main', '/request'), par ? 1 : 0, 'PAR without certificate')
      assert.equal(fx.as.requests('mtls', '/token'), 1)
      assert.equal(fx.as.requests('main', '/token'), 0)
      await expectUserinfo(fx)
      assert.equal(await bareBearer(fx, true), 401)
    })
  }
})

describe('profile oidc', () => {
  test('RS256 listed explicitly, no binding (default), no PAR: parameters in the query', async (t) => {
    const fx = await fullLogin(t, { profile: 'oidc', senderConstraint: 'none', alg: 'RS256' })
    assert.equal(fx.as.requests('main', '/request'), 0)
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'Bearer')
    await expectUserinfo(fx)
  })

  test('DPoP on request, without PAR: dpop_jkt in the query binds the code', async (t) => {
    const fx = await fullLogin(t, { profile: 'oidc', senderConstraint: 'dpop' })
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'DPoP')
    await expectUserinfo(fx)
  })
})
