/**
 * JARM §4.4 (5) and the JARM security considerations: the signature of the authorization response,
 * its algorithm, the choice of the key, and the JWKS fetches an attacker can cause, on Express 5
 * and Express 4.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import type { JWK } from 'jose'
import { runAttackerKeys, segment, withHeader } from './support/hostile-jwt.js'
import { frameworkName } from './support/app.js'
import { expectLogin, expectRejected, login, setup } from './support/hostile-fixture.js'

for (const express of [5, 4, 'connect'] as const) {
  describe(`JARM signatures and keys on ${frameworkName(express)}`, () => {
    test('JARM §4.4 (5), RFC 8725 §3.1: rejects alg none (unsecured JWT)', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { sign: 'none' })
      await expectRejected(fx, response, 400, 'ERR_JARM_MALFORMED')
    })

    test('JARM §4.4 (5): rejects alg none with a signature segment', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { sign: 'none-with-signature' })
      await expectRejected(fx, response, 400, 'ERR_JARM_ALG_NOT_ALLOWED')
    })

    test('JARM §4.4 (5), FAPI 2.0 §5.4.1: rejects HS256 (a MAC, not a signature)', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { sign: 'HS256' })
      await expectRejected(fx, response, 400, 'ERR_JARM_ALG_NOT_ALLOWED')
    })

    test('JARM §4.4 (5), FAPI 1.0 Adv §8.6: rejects RS256 (not allow-listed)', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { sign: 'RS256' })
      await expectRejected(fx, response, 400, 'ERR_JARM_ALG_NOT_ALLOWED')
    })

    test('JARM §5: rejects an allowed alg the server does not advertise for responses', async (t) => {
      const fx = await setup(t, { express })
      fx.as.metadata = (m) => ({ ...m, authorization_signing_alg_values_supported: ['ES256'] })
      const response = await login(fx)
      await expectRejected(fx, response, 400, 'ERR_JARM_ALG_NOT_ALLOWED')
    })

    test('JARM §4.4 (5): rejects a signature by a key not in the JWKS (same kid)', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, { sign: 'other-key' })
      await expectRejected(fx, response, 400, 'ERR_JARM_SIGNATURE_INVALID')
    })

    test('JARM §4.4 (5): rejects a response whose payload was changed after signing', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx)
      const [header, payload, signature] = response.jwt.split('.')
      const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as object
      const forged = `${header}.${segment({ ...claims, code: 'attacker-code' })}.${signature}`
      await expectRejected(
        fx,
        { ...response, url: swap(response.url, forged) },
        400,
        'ERR_JARM_SIGNATURE_INVALID',
      )
    })

    for (const alg of ['PS256', 'ES256'] as const) {
      for (const published of ['with alg', 'without alg'] as const) {
        test(`FAPI 1.0 Adv §8.11, FAPI 2.0 §5.4.3: a same-kid decoy (EC and RSA keys, ${published}) picks the key by kty (${alg})`, async (t) => {
          const fx = await setup(t, { express, alg })
          fx.as.setKid('PS256', 'shared')
          fx.as.setKid('ES256', 'shared')
          if (published === 'without alg') {
            fx.as.jwks = (keys) => keys.map((key) => withoutAlg(key))
          }
          await expectLogin(fx, await login(fx))
        })
      }
    }

    test('RFC 8725 §3.10, JARM §4.4 (5): a key embedded in a jwk header is ignored', async (t) => {
      const fx = await setup(t, { express })
      const attacker = await runAttackerKeys()
      const response = await login(fx, {
        sign: 'attacker',
        header: (h) => ({ ...h, jwk: attacker.PS256.publicJwk }),
      })
      await expectRejected(fx, response, 400, 'ERR_JARM_KEY_NOT_FOUND')
    })

    for (const name of ['jku', 'x5u'] as const) {
      test(`FAPI 2.0 §5.4.2, RFC 8725 §3.10: a ${name} header is never fetched`, async (t) => {
        const fx = await setup(t, { express })
        const response = await login(fx, {
          sign: 'attacker',
          header: (h) => ({ ...h, [name]: `${fx.as.issuer}/attacker/jwks` }),
        })
        await expectRejected(fx, response, 400, 'ERR_JARM_KEY_NOT_FOUND')
        assert.equal(fx.as.requests('/attacker/jwks'), 0)
      })
    }

    test('OIDC Core §10.1.1: an unknown kid after a rotation causes one JWKS refetch, then success', async (t) => {
      const fx = await setup(t, { express })
      await expectLogin(fx, await login(fx))
      const fetched = fx.as.requests('/jwks')
      assert.equal(fetched, 1)
      await fx.as.rotate()
      await expectLogin(fx, await login(fx))
      assert.equal(fx.as.requests('/jwks'), fetched + 1)
    })

    test('JARM security considerations (DoS): iss is checked before the key lookup', async (t) => {
      const fx = await setup(t, { express })
      const response = await login(fx, {
        claims: (c) => ({ ...c, iss: 'https://evil.example' }),
        header: (h) => ({ ...h, kid: randomUUID() }),
      })
      await expectRejected(fx, response, 400, 'ERR_JARM_ISS_MISMATCH')
      assert.equal(fx.as.requests('/jwks'), 0, 'no JWKS fetch for an unexpected issuer')
    })
  })
}

test('JARM security considerations (DoS): 1,000 bogus kids cause only a few JWKS fetches', async (t) => {
  const fx = await setup(t)
  const authorized = await login(fx)
  const total = 1000
  const parallel = 8
  for (let start = 0; start < total; start += parallel) {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        const jwt = withHeader(authorized.jwt, { alg: 'PS256', kid: randomUUID() })
        const answer = await fx.browser.deliver({ ...authorized, url: swap(authorized.url, jwt) })
        assert.equal(answer.status, 400)
        assert.equal(((await answer.json()) as { error: string }).error, 'ERR_JARM_KEY_NOT_FOUND')
      }),
    )
  }
  const fetches = fx.as.requests('/jwks')
  console.log(`JWKS fetches caused by ${total} bogus kids: ${fetches}`)
  assert.ok(fetches >= 1 && fetches <= 5, `${fetches} JWKS fetches`)
  assert.equal(fx.as.requests('/token'), 0)
  // The real response still works: the budget spent on bogus kids does not lock out cached keys.
  await expectLogin(fx, authorized)
})

test('OIDC Core §10.1.1, JARM security considerations (DoS): junk kids that spent the refetch budget do not starve a real rotation', async (t) => {
  let offset = 0
  const now = () => Date.now() + offset
  const fx = await setup(t, { now })
  const authorized = await login(fx)
  // Junk that passes the alg and iss pre-checks, with kids the server never published.
  for (let junk = 0; junk < 4; junk += 1) {
    const jwt = withHeader(authorized.jwt, { alg: 'PS256', kid: randomUUID() })
    const answer = await fx.newBrowser().deliver({ ...authorized, url: swap(authorized.url, jwt) })
    assert.equal(((await answer.json()) as { error: string }).error, 'ERR_JARM_KEY_NOT_FOUND')
  }
  const spent = fx.as.requests('/jwks')
  await fx.as.rotate()
  offset += 15_000 // past the cooldown, well before the budget refills
  await expectLogin(fx, await login(fx))
  assert.equal(fx.as.requests('/jwks'), spent + 1, 'one refetch found the rotated key')
})

/** The callback URL with another `response` value. */
function swap(url: string, response: string): string {
  const target = new URL(url)
  target.searchParams.set('response', response)
  return target.href
}

/** A published key without its optional `alg` member. */
function withoutAlg(key: JWK): JWK {
  return Object.fromEntries(Object.entries(key).filter(([name]) => name !== 'alg'))
}
