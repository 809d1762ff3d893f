/**
 * DPoP (RFC 9449) against the hostile server: the proofs the client sends at PAR, token and the
 * resource (htm, htu without query, iat, unique jti, ath, one key per login bound by dpop_jkt),
 * the server nonce (one retry, never a loop), and the token type it must get back.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  expectError,
  expectLogin,
  expectRejectedAfterTransaction,
  login,
  setup,
  type Fixture,
  type SetupOptions,
} from './support/hostile-fixture.js'
import { without } from './support/hostile-jwt.js'

const DPOP: SetupOptions = { client: { senderConstraint: 'dpop' } }

async function resource(fx: Fixture, url: string): Promise<{ status: number; body: string }> {
  const answer = await fx.browser.request(`/resource?${new URLSearchParams({ url })}`)
  const text = await answer.text()
  assert.equal(answer.status, 200, text)
  return JSON.parse(text) as { status: number; body: string }
}

describe('DPoP proofs', () => {
  test('RFC 9449 §4.2, §10: PAR and token proofs carry htm, htu without query, a current iat, a unique jti; dpop_jkt is the key', async (t) => {
    const fx = await setup(t, DPOP)
    const before = Math.floor(Date.now() / 1000)
    await expectLogin(fx, await login(fx))
    const after = Math.ceil(Date.now() / 1000)
    const proofs = fx.as.bindings.proofs
    assert.deepEqual(
      proofs.map((proof) => [proof.path, proof.payload.htm, proof.payload.htu]),
      [
        ['/par', 'POST', `${fx.as.issuer}/par`],
        ['/token', 'POST', `${fx.as.issuer}/token`],
      ],
    )
    for (const { header, payload } of proofs) {
      assert.equal(header.typ, 'dpop+jwt')
      assert.equal(header.alg, 'ES256')
      assert.equal(header.kid, undefined)
      assert.deepEqual(Object.keys(header.jwk as object).sort(), ['crv', 'kty', 'x', 'y'])
      // Current: made during this login, however long a loaded machine took over it.
      assert.ok(typeof payload.iat === 'number' && payload.iat >= before && payload.iat <= after)
      assert.match(String(payload.jti), /^[A-Za-z0-9_-]{43}$/)
      assert.equal(payload.ath, undefined, 'no token yet')
      assert.equal(payload.nonce, undefined, 'no nonce was asked for')
    }
    assert.notEqual(proofs[0]?.payload.jti, proofs[1]?.payload.jti)
    assert.equal(proofs[0]?.thumbprint, proofs[1]?.thumbprint, 'one key for the login')
    assert.equal(fx.as.lastPushed().requestObject.payload.dpop_jkt, proofs[0]?.thumbprint)
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'DPoP')
  })

  test('RFC 9449 §4.2: htu leaves out the query of the endpoint URL', async (t) => {
    const fx = await setup(t, DPOP)
    fx.as.metadata = (m) => ({ ...m, token_endpoint: `${fx.as.issuer}/token?tenant=1` })
    await expectLogin(fx, await login(fx))
    assert.equal(fx.as.bindings.proofs.at(-1)?.payload.htu, `${fx.as.issuer}/token`)
  })

  test('RFC 9449 §11.4: every login has its own DPoP key', async (t) => {
    const fx = await setup(t, DPOP)
    await expectLogin(fx, await login(fx))
    await expectLogin(fx, await login(fx))
    const keys = new Set(fx.as.bindings.proofs.map((proof) => proof.thumbprint))
    assert.equal(keys.size, 2)
  })

  test('RFC 9449 §5: rejects a Bearer token_type where DPoP was used (ERR_TOKEN_NOT_SENDER_CONSTRAINED)', async (t) => {
    const fx = await setup(t, DPOP)
    fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, token_type: 'Bearer' } })
    await expectRejectedAfterTransaction(
      fx,
      await login(fx),
      502,
      'ERR_TOKEN_NOT_SENDER_CONSTRAINED',
    )
  })

  test('RFC 9449 §5, RFC 6749 §5.1: token_type dpop in any case is accepted', async (t) => {
    const fx = await setup(t, DPOP)
    fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, token_type: 'dpop' } })
    await expectLogin(fx, await login(fx))
    assert.equal(fx.app.logins[0]?.tokens.tokenType, 'DPoP')
  })

  test('RFC 9449 §5.1: a server without dpop_signing_alg_values_supported is ERR_DISCOVERY_INVALID', async (t) => {
    const fx = await setup(t, DPOP)
    fx.as.metadata = (m) => without(m, 'dpop_signing_alg_values_supported')
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_DISCOVERY_INVALID')
  })
})

describe('DPoP server nonces', () => {
  for (const path of ['/par', '/token'] as const) {
    test(`RFC 9449 §8, FAPI 2.0 §5.3.3.1 (8): use_dpop_nonce at ${path}: one retry with the nonce, a new jti and a new assertion`, async (t) => {
      const fx = await setup(t, DPOP)
      fx.as.bindings.policy = { paths: new Set([path]) }
      await expectLogin(fx, await login(fx))
      const proofs = fx.as.bindings.proofs.filter((proof) => proof.path === path)
      assert.equal(proofs.length, 2)
      assert.equal(proofs[0]?.payload.nonce, undefined)
      assert.equal(proofs[1]?.payload.nonce, fx.as.bindings.nonce)
      assert.notEqual(proofs[0]?.payload.jti, proofs[1]?.payload.jti)
      assert.equal(fx.as.requests(path), 2)
    })
  }

  test('RFC 9449 §8: a server that asks again after the retry is ERR_TOKEN_REJECTED, without a third request', async (t) => {
    const fx = await setup(t, DPOP)
    fx.as.bindings.policy = { paths: new Set(['/token']), always: true }
    await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_TOKEN_REJECTED')
    assert.equal(fx.as.requests('/token'), 2)
  })

  test('RFC 9449 §8: use_dpop_nonce without a DPoP-Nonce header is not retried (ERR_PAR_REJECTED)', async (t) => {
    const fx = await setup(t, DPOP)
    fx.as.bindings.policy = { paths: new Set(['/par']), withoutHeader: true }
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_PAR_REJECTED')
    assert.equal(fx.as.requests('/par'), 1)
  })

  test('RFC 9449 §8.2: a nonce given with a success is sent in the next proof to that server', async (t) => {
    const fx = await setup(t, DPOP)
    fx.as.fault('/par', (reply) => ({ ...reply, headers: { 'dpop-nonce': 'fresh-nonce-1' } }))
    await expectLogin(fx, await login(fx))
    assert.equal(
      fx.as.bindings.proofs.find((p) => p.path === '/token')?.payload.nonce,
      'fresh-nonce-1',
    )
  })

  test('RFC 9449 §8.1: a DPoP-Nonce with characters outside NQCHAR is not used', async (t) => {
    const fx = await setup(t, DPOP)
    fx.as.fault('/par', (reply) => ({ ...reply, headers: { 'dpop-nonce': 'bad "nonce"' } }))
    await expectLogin(fx, await login(fx))
    assert.equal(fx.as.bindings.proofs.find((p) => p.path === '/token')?.payload.nonce, undefined)
  })
})

describe('DPoP at the resource', () => {
  test('RFC 9449 §7, FAPI 2.0 §5.3.3.1 (3): Authorization: DPoP and a proof with ath, htm GET, htu without query', async (t) => {
    const fx = await setup(t, DPOP)
    await expectLogin(fx, await login(fx))
    const answer = await resource(fx, `${fx.as.issuer}/userinfo?fields=sub`)
    assert.deepEqual(answer, { status: 200, body: '{"sub":"user-1"}' })
    const proof = fx.as.bindings.proofs.at(-1)
    assert.equal(proof?.path, '/userinfo')
    assert.equal(proof?.payload.htm, 'GET')
    assert.equal(proof?.payload.htu, `${fx.as.issuer}/userinfo`)
    assert.equal(typeof proof?.payload.ath, 'string')
    assert.equal(proof?.thumbprint, fx.as.bindings.proofs[0]?.thumbprint, 'the login key')
    assert.deepEqual(fx.as.violations(), [])
  })

  test('RFC 9449 §9: a 401 use_dpop_nonce challenge is answered once with the nonce', async (t) => {
    const fx = await setup(t, DPOP)
    await expectLogin(fx, await login(fx))
    fx.as.bindings.policy = { paths: new Set(['/userinfo']) }
    const answer = await resource(fx, `${fx.as.issuer}/userinfo`)
    assert.equal(answer.status, 200)
    const proofs = fx.as.bindings.proofs.filter((proof) => proof.path === '/userinfo')
    assert.deepEqual(
      proofs.map((proof) => proof.payload.nonce),
      [undefined, fx.as.bindings.nonce],
    )
  })

  test('RFC 9449 §9: a resource that keeps asking gets two requests, then its 401 is returned', async (t) => {
    const fx = await setup(t, DPOP)
    await expectLogin(fx, await login(fx))
    fx.as.bindings.policy = { paths: new Set(['/userinfo']), always: true }
    const answer = await resource(fx, `${fx.as.issuer}/userinfo`)
    assert.equal(answer.status, 401)
    assert.equal(fx.as.requests('/userinfo'), 2)
  })

  test("RFC 9449 §11.4: the resource proof is made with the key of this session's login", async (t) => {
    const fx = await setup(t, DPOP)
    await expectLogin(fx, await login(fx))
    const other = fx.newBrowser()
    await expectLogin(fx, await login(fx, undefined, other), other)
    const answer = await other.request(
      `/resource?${new URLSearchParams({ url: `${fx.as.issuer}/userinfo` })}`,
    )
    assert.equal(((await answer.json()) as { status: number }).status, 200)
    const resourceProof = fx.as.bindings.proofs.at(-1)
    const tokenProofs = fx.as.bindings.proofs.filter((proof) => proof.path === '/token')
    assert.equal(resourceProof?.thumbprint, tokenProofs[1]?.thumbprint)
    assert.notEqual(resourceProof?.thumbprint, tokenProofs[0]?.thumbprint)
  })
})
