/**
 * External signers (keys that never enter the process) against a real oidc-provider: every JWT
 * the client signs goes through the signer (counted per login, refresh, client credentials and
 * revocation), the signer's failures become typed errors before anything is sent to the server,
 * and its shape is checked at startup.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FapiConfigError, fapiClient, type ExternalSigner } from '../src/index.js'
import { startFapi2Login } from './support/fapi2-fixture.js'
import { generateJwks } from './support/keys.js'
import { countingSigner } from './support/signers.js'

const base = {
  issuer: 'https://as.example.com',
  clientId: 'portal',
  redirectUri: 'https://portal.example.com/auth/callback',
}

describe('an external signer signs every JWT of the client', () => {
  for (const alg of ['ES256', 'PS256'] as const) {
    test(`${alg}: login (request object, PAR and token assertions), refresh, client credentials, revocation`, async (t) => {
      const signer = await countingSigner(alg, `kms-${alg}`)
      const fx = await startFapi2Login(t, {
        profile: 'fapi2-message-signing',
        senderConstraint: 'dpop',
        alg,
        refreshTokens: true,
        server: { clientCredentials: true, revocation: true },
        client: { keys: { signing: [signer] } },
        routes: (router, client) => router.post('/auth/logout', client.logout()),
      })
      const jwks = (await (await fx.browser.request('/jwks')).json()) as { keys: object[] }
      assert.deepEqual(jwks.keys, [{ ...signer.publicJwk, kid: signer.kid, alg, use: 'sig' }])

      const landed = await fx.browser.deliver(await fx.authorize())
      assert.equal(landed.status, 200, await landed.clone().text())
      const login = signer.calls.map(({ header, payload }) => [
        header.typ ?? 'assertion',
        payload.aud,
      ])
      assert.deepEqual(login, [
        ['oauth-authz-req+jwt', fx.as.issuer],
        ['assertion', fx.as.issuer],
        ['assertion', fx.as.issuer],
      ])
      assert.equal(fx.as.requests('main', '/request'), 1)
      assert.equal(fx.as.requests('main', '/token'), 1)

      const refreshed = await fx.browser.request('/refresh', { method: 'POST' })
      assert.equal(refreshed.status, 200, await refreshed.clone().text())
      assert.equal(signer.calls.length, 4, 'one assertion per refresh')
      assert.equal(fx.as.requests('main', '/token'), 2)

      await fx.app.client.clientCredentials()
      assert.equal(signer.calls.length, 5, 'one assertion for client credentials')

      const out = await fx.browser.request('/auth/logout', { method: 'POST' })
      assert.equal(out.status, 303)
      assert.equal(fx.as.requests('main', '/token/revocation'), 2)
      assert.equal(signer.calls.length, 7, 'one assertion per revocation')
      for (const { header } of signer.calls)
        assert.deepEqual([header.alg, header.kid], [alg, signer.kid])
    })
  }

  test('ES256 from a KMS that answers DER: converted with derToJose, the login completes', async (t) => {
    const { derToJose } = await import('../src/index.js')
    const der = await countingSigner('ES256', 'kms-der', { der: true })
    const signer: ExternalSigner = { ...der, sign: async (data) => derToJose(await der.sign(data)) }
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      client: { keys: { signing: [signer] } },
    })
    const landed = await fx.browser.deliver(await fx.authorize())
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.equal(
      der.calls.length,
      2,
      'PAR and token assertions (no request object in fapi2-security)',
    )
  })
})

describe('a failing signer: a typed error, nothing sent to the server', () => {
  const cases: {
    name: string
    code: string
    sign: (inner: ExternalSigner['sign']) => ExternalSigner['sign']
  }[] = [
    {
      name: 'rejects',
      code: 'ERR_SIGNER_FAILED',
      sign: () => () => Promise.reject(new Error('HSM session closed: payload eyJhbGciOi')),
    },
    {
      name: 'throws synchronously',
      code: 'ERR_SIGNER_FAILED',
      sign: () => () => {
        throw new RangeError('bad slot')
      },
    },
    { name: 'hangs', code: 'ERR_SIGNER_TIMEOUT', sign: () => () => new Promise(() => undefined) },
    {
      name: 'returns a short signature',
      code: 'ERR_SIGNER_SIGNATURE_INVALID',
      sign: (inner) => async (data) => (await inner(data)).subarray(1),
    },
    {
      name: 'returns DER instead of R || S',
      code: 'ERR_SIGNER_SIGNATURE_INVALID',
      sign: () => async () => Uint8Array.from([0x30, 0x44, 0x02, 0x20, ...new Uint8Array(66)]),
    },
    {
      name: 'returns a string',
      code: 'ERR_SIGNER_SIGNATURE_INVALID',
      sign: () => async () => 'c2lnbmF0dXJl' as unknown as Uint8Array,
    },
    {
      name: 'signs with another key (the right length, no verification)',
      code: 'ERR_SIGNER_SIGNATURE_INVALID',
      sign: (inner) => async (data) => {
        const signature = Uint8Array.from(await inner(data))
        signature[10] = (signature[10] ?? 0) ^ 1
        return signature
      },
    },
  ]
  for (const c of cases) {
    test(`a signer that ${c.name}: ${c.code} naming the kid, no PAR request, no unhandled rejection`, async (t) => {
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown) => unhandled.push(reason)
      process.on('unhandledRejection', onUnhandled)
      t.after(() => process.off('unhandledRejection', onUnhandled))
      const good = await countingSigner('ES256', 'hsm-7')
      const signer: ExternalSigner = { ...good, timeout: 200, sign: c.sign(good.sign.bind(good)) }
      const fx = await startFapi2Login(t, {
        profile: 'fapi2-message-signing',
        senderConstraint: 'dpop',
        client: { keys: { signing: [signer] } },
      })
      const answer = await fx.browser.request('/auth/login')
      const body = (await answer.json()) as { error: string; message: string }
      assert.equal(body.error, c.code)
      assert.equal(answer.headers.get('location'), null, 'no redirect to the server')
      assert.match(body.message, /"hsm-7"/)
      assert.doesNotMatch(body.message, /eyJ|HSM session|bad slot/, 'never the data or its error')
      assert.equal(fx.as.requests('main', '/request'), 0, 'nothing pushed')
      assert.deepEqual(fx.app.unexpectedErrors, [])
      await new Promise((resolve) => setImmediate(resolve))
      assert.deepEqual(unhandled, [])
    })
  }
})

test('a hanging signer without its own timeout is bounded by httpTimeout', async () => {
  const { resolveConfig } = await import('../src/config/index.js')
  const good = await countingSigner('ES256', 'slow')
  const signer: ExternalSigner = { ...good, sign: () => new Promise(() => undefined) }
  const config = resolveConfig({ ...base, httpTimeout: 50, keys: { signing: [signer] } })
  const key = config.signingKeys[0]
  assert.ok(key !== undefined)
  await assert.rejects(key.sign(new Uint8Array(8)), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_SIGNER_TIMEOUT')
    assert.match(error.message, /"slow" did not answer within 50 ms/)
    return true
  })
})

describe('an external signer is checked at startup', () => {
  async function rejected(signer: Record<string, unknown>): Promise<string> {
    try {
      fapiClient({ ...base, keys: { signing: [signer as unknown as ExternalSigner] } })
    } catch (error) {
      assert.ok(error instanceof FapiConfigError, String(error))
      return error.message
    }
    assert.fail('expected a FapiConfigError')
  }
  test('accepted: kid, alg, public JWK, sign', async () => {
    const signer = await countingSigner('EdDSA', 'ed')
    const client = fapiClient({ ...base, keys: { signing: [signer] } })
    assert.equal(typeof client.jwks, 'function')
  })
  test('refused: a publicJwk with private members (the private key would be published)', async () => {
    const signer = await countingSigner('ES256', 'x')
    const message = await rejected({ ...signer, publicJwk: signer.privateJwk })
    assert.match(message, /private members \(d\)/)
    assert.doesNotMatch(message, new RegExp(String(signer.privateJwk.d)))
  })
  test('refused: a publicJwk that does not fit alg', async () => {
    const { publicJwk } = await generateJwks('PS256', 'x')
    const signer = await countingSigner('ES256', 'x')
    assert.match(
      await rejected({ ...signer, publicJwk: { ...publicJwk, alg: undefined } }),
      /P-256 EC publicJwk/,
    )
    const ed = await generateJwks('EdDSA', 'x')
    assert.match(
      await rejected({ ...signer, alg: 'PS256', publicJwk: { ...ed.publicJwk, alg: undefined } }),
      /RSA publicJwk/,
    )
  })
  test('refused: no kid, an alg FAPI forbids, a kid or alg that contradicts the publicJwk', async () => {
    const signer = await countingSigner('ES256', 'x')
    assert.match(await rejected({ ...signer, kid: '' }), /needs a "kid"/)
    assert.match(await rejected({ ...signer, alg: 'RS256' }), /needs "alg"/)
    assert.match(await rejected({ ...signer, alg: undefined }), /needs "alg"/)
    assert.match(await rejected({ ...signer, kid: 'y' }), /whose "kid" is not "y"/)
    assert.match(
      await rejected({ ...signer, publicJwk: { ...signer.publicJwk, use: 'enc' } }),
      /"use" is not "sig"/,
    )
    assert.match(await rejected({ ...signer, publicJwk: undefined }), /needs "publicJwk"/)
    assert.match(await rejected({ ...signer, timeout: 0 }), /timeout" must be a positive integer/)
  })
  test('refused: an alg the profile does not allow', async () => {
    const signer = await countingSigner('EdDSA', 'x')
    try {
      fapiClient({ ...base, keys: { signing: [signer] }, algorithms: ['PS256'] })
      assert.fail('expected a FapiConfigError')
    } catch (error) {
      assert.ok(error instanceof FapiConfigError)
      assert.match(error.message, /EdDSA, which the profile does not allow/)
    }
  })
})
