/**
 * A signed registration request (`application/jose`) goes through the client's signing key
 * abstraction, as request objects and client assertions do: an external signer (an HSM or KMS
 * stand-in counting its calls, and a non-extractable key in a SoftHSM2 token) signs it, with its
 * kid; the active key signs and is the one whose algorithm is registered, never a `next` key
 * listed first.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test, type TestContext } from 'node:test'
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import { openToken, type Pkcs11Token } from '../examples/pkcs11-signer.js'
import { fapiRegistration, isFapiError, memoryRegistrations } from '../src/index.js'
import {
  startHostileRegistration,
  type HostileRegistrationServer,
} from './support/hostile-registration.js'
import { generateJwks } from './support/keys.js'
import { countingSigner } from './support/signers.js'
import { createSoftToken, softhsmMissing, type SoftToken } from './support/softhsm.js'

const SSA = 'eyJhbGciOiJFUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImFwcCJ9.c2lnbmF0dXJl'
const REDIRECT_URI = 'http://127.0.0.1:9/auth/callback'

async function server(t: TestContext): Promise<HostileRegistrationServer> {
  const as = await startHostileRegistration()
  t.after(() => as.close())
  // Echo what a JWT carried, as a server that verified it would register it.
  as.reply = () => {
    const body = as.seen.at(-1)?.body ?? ''
    const claims = JSON.parse(Buffer.from(body.split('.')[1] ?? '', 'base64url').toString()) as {
      [name: string]: unknown
    }
    return {
      status: as.seen.at(-1)?.method === 'PUT' ? 200 : 201,
      body: {
        ...claims,
        client_id: 'registered-client',
        registration_access_token: `rat-${as.seen.length}`,
        registration_client_uri: `${as.issuer}/register/registered-client`,
      },
    }
  }
  return as
}

describe('the signed registration request and the client signing key', () => {
  test('RFC 7591 §2.3 (application/jose): an external signer signs the registration and its update, each call counted; the JWT verifies with its public key', async (t) => {
    const as = await server(t)
    const signer = await countingSigner('ES256', 'hsm-2026-12')
    const store = memoryRegistrations()
    const client = {
      issuer: as.issuer,
      redirectUri: REDIRECT_URI,
      keys: { signing: [signer] },
      allowInsecureLoopback: true,
    }
    const options = {
      client,
      format: 'jwt' as const,
      softwareStatement: () => Promise.resolve(SSA),
      store,
    }
    await fapiRegistration(options).ensure()
    assert.equal(signer.calls.length, 1, 'the signer signed the registration request')
    assert.equal(signer.calls[0]?.header.kid, 'hsm-2026-12')
    assert.equal(signer.calls[0]?.payload.software_statement, SSA)
    const first = as.seen[0]?.body ?? ''
    assert.equal(as.seen[0]?.headers['content-type'], 'application/jose')
    const { payload } = await jwtVerify(first, await importJWK(signer.publicJwk, 'ES256'), {
      audience: as.issuer,
    })
    assert.deepEqual(payload.redirect_uris, [REDIRECT_URI])

    await fapiRegistration({ ...options, metadata: { client_name: 'Aggregator' } }).ensure()
    assert.equal(as.seen[1]?.method, 'PUT')
    assert.equal(signer.calls.length, 2, 'and the RFC 7592 update')
    assert.equal(signer.calls[1]?.payload.client_name, 'Aggregator')
  })

  test('key rotation: the active key signs the registration request and its alg is registered, not a "next" key listed first', async (t) => {
    const as = await server(t)
    const next = await generateJwks('PS256', 'portal-next')
    const active = await countingSigner('ES256', 'hsm-active')
    const registered = await fapiRegistration({
      client: {
        issuer: as.issuer,
        redirectUri: REDIRECT_URI,
        keys: { signing: [{ ...next.privateJwk, state: 'next' }, active] },
        allowInsecureLoopback: true,
      },
      format: 'jwt',
    }).ensure()
    assert.equal(decodeProtectedHeader(as.seen[0]?.body ?? '').kid, 'hsm-active')
    assert.equal(active.calls.length, 1)
    assert.equal(registered.metadata.request_object_signing_alg, 'ES256')
    assert.equal(registered.metadata.token_endpoint_auth_signing_alg, 'ES256')
  })

  test('a failing external signer reaches the app with its code; nothing is sent or stored', async (t) => {
    const as = await server(t)
    const signer = await countingSigner('ES256', 'hsm-down')
    const store = memoryRegistrations()
    await assert.rejects(
      fapiRegistration({
        client: {
          issuer: as.issuer,
          redirectUri: REDIRECT_URI,
          keys: { signing: [{ ...signer, sign: () => Promise.reject(new Error('HSM offline')) }] },
          allowInsecureLoopback: true,
        },
        format: 'jwt',
        store,
      }).ensure(),
      (error: unknown) => {
        assert.ok(isFapiError(error), String(error))
        assert.equal(error.code, 'ERR_SIGNER_FAILED', error.message)
        assert.doesNotMatch(error.message, /HSM offline/, "the signer's own message stays out")
        return true
      },
    )
    assert.equal(as.seen.length, 0)
    assert.equal(await store.get(as.issuer), undefined)
  })
})

describe(
  'a key held in a PKCS#11 token (SoftHSM2) signs the registration request',
  { skip: softhsmMissing() },
  () => {
    let soft: SoftToken
    let token: Pkcs11Token
    before(() => {
      soft = createSoftToken()
      token = openToken(soft)
      token.generateKeyPair({ label: 'portal-registration', alg: 'ES256' })
    })
    after(() => {
      token?.close()
      soft?.remove()
    })

    test('RFC 7591 §2.3 (application/jose) with a non-extractable key in the token: the request verifies with its public key', async (t) => {
      const as = await server(t)
      const signer = token.signer({ label: 'portal-registration', kid: 'hsm-reg', alg: 'ES256' })
      assert.equal(token.extractable('portal-registration'), false)
      await fapiRegistration({
        client: {
          issuer: as.issuer,
          redirectUri: REDIRECT_URI,
          keys: { signing: [signer] },
          allowInsecureLoopback: true,
        },
        format: 'jwt',
        softwareStatement: () => Promise.resolve(SSA),
      }).ensure()
      const jwt = as.seen[0]?.body ?? ''
      assert.equal(decodeProtectedHeader(jwt).kid, 'hsm-reg')
      const { payload } = await jwtVerify(jwt, await importJWK(signer.publicJwk, 'ES256'), {
        audience: as.issuer,
      })
      assert.equal(payload.software_statement, SSA)
    })
  },
)
