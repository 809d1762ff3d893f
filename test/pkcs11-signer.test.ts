/**
 * A real HSM: logins against a real oidc-provider with keys generated inside a SoftHSM2 token
 * (non-extractable, sensitive), through the PKCS#11 signer of `examples/pkcs11-signer.ts`. The
 * token lives in a temporary directory created and removed by this file.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import { openToken, type Pkcs11Token } from '../examples/pkcs11-signer.js'
import { startFapi2Login } from './support/fapi2-fixture.js'
import { createSoftToken, softhsmMissing, type SoftToken } from './support/softhsm.js'

const missing = softhsmMissing()

describe(
  'PKCS#11 (SoftHSM2): keys generated in the token sign every JWT',
  { skip: missing },
  () => {
    let soft: SoftToken
    let token: Pkcs11Token
    before(() => {
      soft = createSoftToken()
      token = openToken(soft)
      token.generateKeyPair({ label: 'portal-ps256', alg: 'PS256' })
      token.generateKeyPair({ label: 'portal-es256', alg: 'ES256' })
    })
    after(() => {
      token?.close()
      soft?.remove()
    })

    test('the private keys are sensitive and cannot be extracted', () => {
      assert.equal(token.extractable('portal-ps256'), false)
      assert.equal(token.extractable('portal-es256'), false)
    })

    for (const alg of ['PS256', 'ES256'] as const) {
      test(`${alg}: a FAPI 2.0 Message Signing login and a refresh, every JWT signed in the token`, async (t) => {
        const label = `portal-${alg.toLowerCase()}`
        const inner = token.signer({ label, kid: `hsm-${alg}`, alg })
        const signed: string[] = []
        const signer = {
          ...inner,
          sign: async (data: Uint8Array) => {
            signed.push(Buffer.from(data).toString())
            return inner.sign(data)
          },
        }
        const fx = await startFapi2Login(t, {
          profile: 'fapi2-message-signing',
          senderConstraint: 'dpop',
          alg,
          refreshTokens: true,
          client: { keys: { signing: [signer] } },
        })
        const landed = await fx.browser.deliver(await fx.authorize())
        assert.equal(landed.status, 200, await landed.clone().text())
        assert.equal(fx.app.logins[0]?.claims.sub, 'alice')
        assert.equal(signed.length, 3, 'request object, PAR assertion, token assertion')
        const refreshed = await fx.browser.request('/refresh', { method: 'POST' })
        assert.equal(refreshed.status, 200, await refreshed.clone().text())
        assert.equal(signed.length, 4, 'and the refresh assertion')
        for (const input of signed) {
          assert.deepEqual(
            [decodeProtectedHeader(`${input}.x`).kid, decodeProtectedHeader(`${input}.x`).alg],
            [`hsm-${alg}`, alg],
          )
        }
      })
    }
  },
)
