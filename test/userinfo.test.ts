/**
 * `userinfo(req)` (OIDC Core §5.3): the login's token at the userinfo endpoint, bound as issued;
 * a JSON answer or a signed userinfo JWT verified like an ID token; its `sub` must be the ID
 * token's (§5.3.4). Against the real oidc-provider (JSON and signed) and the hostile server.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { startFapi2Login } from './support/fapi2-fixture.js'
import { expectError, expectLogin, login, setup, type Fixture } from './support/hostile-fixture.js'

async function loggedIn(t: Parameters<typeof setup>[0]): Promise<Fixture> {
  const fx = await setup(t)
  await expectLogin(fx, await login(fx))
  return fx
}

async function signedBy(
  fx: Fixture,
  claims: Record<string, unknown>,
  attacker = false,
): Promise<string> {
  const key = fx.as.key('PS256')
  const jwt = new SignJWT({ iss: fx.as.issuer, aud: 'portal', ...claims }).setProtectedHeader({
    alg: 'PS256',
    kid: key.kid,
  })
  if (!attacker) return jwt.sign(key.privateKey)
  const { generateKeyPair } = await import('jose')
  return jwt.sign((await generateKeyPair('PS256')).privateKey)
}

function jwtReply(jwt: string) {
  return () => ({ status: 200, headers: { 'content-type': 'application/jwt' }, raw: jwt })
}

describe('userinfo, oidc-provider', () => {
  test('OIDC Core §5.3.2, oidc-provider: userinfo(req) returns the JSON claims with the DPoP-bound token', async (t) => {
    const fx = await startFapi2Login(t, { profile: 'fapi2-security', senderConstraint: 'dpop' })
    const landed = await fx.browser.deliver(await fx.authorize())
    assert.equal(landed.status, 200, await landed.clone().text())
    const answer = await fx.browser.request('/userinfo-claims')
    assert.deepEqual(await answer.json(), { sub: 'alice', name: 'Test User' })
  })

  test('OIDC Core §5.3.2, oidc-provider: a signed userinfo response is verified like an ID token', async (t) => {
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      server: { signedUserinfo: true },
    })
    const landed = await fx.browser.deliver(await fx.authorize())
    assert.equal(landed.status, 200, await landed.clone().text())
    const answer = await fx.browser.request('/userinfo-claims')
    const claims = (await answer.json()) as Record<string, unknown>
    assert.equal(answer.status, 200, JSON.stringify(claims))
    assert.equal(claims.sub, 'alice')
    assert.equal(claims.iss, fx.as.issuer)
  })
})

describe('userinfo, hostile server', () => {
  test('OIDC Core §5.3.4: a userinfo sub other than the ID token sub is ERR_USERINFO_SUB_MISMATCH', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/userinfo', () => ({ status: 200, body: { sub: 'user-2', name: 'Mallory' } }))
    await expectError(
      await fx.browser.request('/userinfo-claims'),
      502,
      'ERR_USERINFO_SUB_MISMATCH',
    )
  })

  test('OIDC Core §5.3.4: a userinfo answer without sub is ERR_USERINFO_SUB_MISMATCH', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/userinfo', () => ({ status: 200, body: { name: 'Anyone' } }))
    await expectError(
      await fx.browser.request('/userinfo-claims'),
      502,
      'ERR_USERINFO_SUB_MISMATCH',
    )
  })

  test('OIDC Core §5.3.2: a signed userinfo JWT with the right sub is accepted', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault(
      '/userinfo',
      jwtReply(await signedBy(fx, { sub: 'user-1', email: 'u@example.test' })),
    )
    const answer = await fx.browser.request('/userinfo-claims')
    assert.equal(answer.status, 200)
    assert.equal(((await answer.json()) as { email?: string }).email, 'u@example.test')
  })

  test('OIDC Core §5.3.4: a signed userinfo JWT with another sub is ERR_USERINFO_SUB_MISMATCH', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/userinfo', jwtReply(await signedBy(fx, { sub: 'user-2' })))
    await expectError(
      await fx.browser.request('/userinfo-claims'),
      502,
      'ERR_USERINFO_SUB_MISMATCH',
    )
  })

  test('OIDC Core §5.3.2: a userinfo JWT signed by another key is ERR_USERINFO_INVALID', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/userinfo', jwtReply(await signedBy(fx, { sub: 'user-1' }, true)))
    await expectError(await fx.browser.request('/userinfo-claims'), 502, 'ERR_USERINFO_INVALID')
  })

  test('OIDC Core §5.3.2: a userinfo JWT for another audience is ERR_USERINFO_INVALID', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/userinfo', jwtReply(await signedBy(fx, { sub: 'user-1', aud: 'other' })))
    await expectError(await fx.browser.request('/userinfo-claims'), 502, 'ERR_USERINFO_INVALID')
  })

  test('OIDC Core §5.3.2: a userinfo JWT from another issuer is ERR_USERINFO_INVALID', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault(
      '/userinfo',
      jwtReply(await signedBy(fx, { sub: 'user-1', iss: 'https://evil.example' })),
    )
    await expectError(await fx.browser.request('/userinfo-claims'), 502, 'ERR_USERINFO_INVALID')
  })

  test('OIDC Core §5.3.3: a userinfo error status is ERR_USERINFO_REJECTED', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/userinfo', () => ({ status: 401, body: { error: 'invalid_token' } }))
    await expectError(await fx.browser.request('/userinfo-claims'), 502, 'ERR_USERINFO_REJECTED')
  })

  test('OIDC Core §5.3: without a login, userinfo(req) is ERR_LOGIN_REQUIRED and makes no call', async (t) => {
    const fx = await setup(t)
    await expectError(await fx.browser.request('/userinfo-claims'), 401, 'ERR_LOGIN_REQUIRED')
    assert.equal(fx.as.requests('/userinfo'), 0)
  })
})
