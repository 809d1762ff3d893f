/**
 * Encryption against the hostile server: JARM responses and ID tokens encrypted to the client
 * (decrypted with the key named by kid, never RSA1_5, and the content must still be a verified
 * JWS), and request objects signed then encrypted to the server's `use: enc` key.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import { encryptTo } from './support/hostile-jwe.js'
import {
  clientKey,
  expectError,
  expectLogin,
  expectRejected,
  expectRejectedAfterTransaction,
  login,
  setup,
  type Fixture,
  type SetupOptions,
} from './support/hostile-fixture.js'
import { segment } from './support/hostile-jwt.js'
import { generateEncryptionJwks, type KeyPairJwks } from './support/keys.js'

let enc: KeyPairJwks
let signing: KeyPairJwks
before(async () => {
  enc = await generateEncryptionJwks()
  signing = await clientKey('ES256')
})

/** A client with `keys.encryption`, and what the server must encrypt. */
function encrypted(what: { idToken?: boolean; authorizationResponse?: boolean }): SetupOptions {
  return {
    client: {
      keys: { signing: [signing.privateJwk], encryption: [enc.privateJwk] },
      encryption: what,
    },
  }
}

const unsignedJson = (jwt: string) =>
  Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')
const algNone = (jwt: string) => `${segment({ alg: 'none' })}.${jwt.split('.')[1] ?? ''}.`

function encryptJarm(fx: Fixture, spec: Parameters<typeof encryptTo>[2] = {}): void {
  fx.as.encryptJarm = (jwt) => encryptTo(jwt, enc.publicJwk, spec)
}

function encryptIdToken(fx: Fixture, spec: Parameters<typeof encryptTo>[2] = {}): void {
  fx.as.encryptIdToken = (jwt) => encryptTo(jwt, enc.publicJwk, spec)
}

describe('encrypted JARM responses', () => {
  test('JARM §4.2, §4.4 (1): a signed-then-encrypted response is decrypted with the key named by kid', async (t) => {
    const fx = await setup(t, encrypted({ authorizationResponse: true }))
    encryptJarm(fx)
    const response = await login(fx)
    assert.equal(decodeProtectedHeader(response.jwt).kid, 'portal-enc')
    await expectLogin(fx, response)
  })

  test('FAPI 1.0 Adv §8.6.1: rejects an RSA1_5-encrypted JARM response', async (t) => {
    const fx = await setup(t, encrypted({ authorizationResponse: true }))
    encryptJarm(fx, { alg: 'RSA1_5' })
    const response = await login(fx)
    await expectRejected(fx, response, 400, 'ERR_JARM_ENC_ALG_NOT_ALLOWED')
    const again = (await (await fx.browser.deliver(response)).json()) as { message: string }
    assert.match(again.message, /RSA1_5 is forbidden/, 'refused by name, before any decryption')
  })

  test('RFC 8725 §3.6: rejects a compressed (zip) JARM response', async (t) => {
    const fx = await setup(t, encrypted({ authorizationResponse: true }))
    encryptJarm(fx, { zip: true })
    const response = await login(fx)
    await expectRejected(fx, response, 400, 'ERR_JARM_ENC_ALG_NOT_ALLOWED')
    const again = (await (await fx.browser.deliver(response)).json()) as { message: string }
    assert.match(again.message, /zip/, 'refused by name, before any decryption')
  })

  test('JARM §4.4 (1): a response encrypted to another kid is ERR_JARM_DECRYPTION_FAILED', async (t) => {
    const fx = await setup(t, encrypted({ authorizationResponse: true }))
    encryptJarm(fx, { kid: 'someone-else' })
    await expectRejected(fx, await login(fx), 400, 'ERR_JARM_DECRYPTION_FAILED')
  })

  test('JARM §4.2: rejects an encrypted response whose content is unsigned JSON', async (t) => {
    const fx = await setup(t, encrypted({ authorizationResponse: true }))
    encryptJarm(fx, { inner: unsignedJson })
    await expectRejected(fx, await login(fx), 400, 'ERR_JARM_MALFORMED')
  })

  test('JARM §4.4 (5): rejects an encrypted response whose content is an unsecured (alg none) JWT', async (t) => {
    const fx = await setup(t, encrypted({ authorizationResponse: true }))
    encryptJarm(fx, { inner: algNone })
    await expectRejected(fx, await login(fx), 400, 'ERR_JARM_MALFORMED')
  })

  test('JARM §4.4 (5): the inner JWS of an encrypted response must verify (signed by another key)', async (t) => {
    const fx = await setup(t, encrypted({ authorizationResponse: true }))
    encryptJarm(fx)
    await expectRejected(
      fx,
      await login(fx, { sign: 'other-key' }),
      400,
      'ERR_JARM_SIGNATURE_INVALID',
    )
  })

  test('JARM §4.2: a plain JARM response where encryption was registered is ERR_JARM_NOT_ENCRYPTED', async (t) => {
    const fx = await setup(t, encrypted({ authorizationResponse: true }))
    await expectRejected(fx, await login(fx), 400, 'ERR_JARM_NOT_ENCRYPTED')
  })

  test('JARM §4.2: without encryption registered, an encrypted response is still decrypted when keys exist', async (t) => {
    const fx = await setup(t, encrypted({}))
    encryptJarm(fx)
    await expectLogin(fx, await login(fx))
  })
})

describe('encrypted ID tokens', () => {
  test('OIDC Core §3.1.3.7 (1): an encrypted ID token is decrypted, then verified', async (t) => {
    const fx = await setup(t, encrypted({ idToken: true }))
    encryptIdToken(fx)
    await expectLogin(fx, await login(fx))
    // The signed ID token is kept: readable by the app, usable as id_token_hint (RP-Initiated
    // Logout §2 wants the decrypted one).
    assert.equal(fx.app.logins[0]?.tokens.idToken.split('.').length, 3)
  })

  test('OIDC Core §3.1.3.7 (1): a plain ID token where encryption was registered is ERR_ID_TOKEN_NOT_ENCRYPTED', async (t) => {
    const fx = await setup(t, encrypted({ idToken: true }))
    await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_NOT_ENCRYPTED')
  })

  test('RFC 8725 §3.6: rejects a compressed (zip) ID token', async (t) => {
    const fx = await setup(t, encrypted({ idToken: true }))
    encryptIdToken(fx, { zip: true })
    await expectRejectedAfterTransaction(
      fx,
      await login(fx),
      502,
      'ERR_ID_TOKEN_ENC_ALG_NOT_ALLOWED',
    )
  })

  test('FAPI 1.0 Adv §8.6.1: rejects an RSA1_5-encrypted ID token', async (t) => {
    const fx = await setup(t, encrypted({ idToken: true }))
    encryptIdToken(fx, { alg: 'RSA1_5' })
    await expectRejectedAfterTransaction(
      fx,
      await login(fx),
      502,
      'ERR_ID_TOKEN_ENC_ALG_NOT_ALLOWED',
    )
  })

  test('OIDC Core §3.1.3.7 (1), (6): an encrypted ID token with unsigned content is ERR_ID_TOKEN_MALFORMED', async (t) => {
    const fx = await setup(t, encrypted({ idToken: true }))
    encryptIdToken(fx, { inner: unsignedJson })
    await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_MALFORMED')
  })

  test('OIDC Core §3.1.3.7 (1): an encrypted ID token without keys.encryption is ERR_ID_TOKEN_ENCRYPTED', async (t) => {
    const fx = await setup(t)
    encryptIdToken(fx)
    await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_ENCRYPTED')
  })
})

describe('encrypted request objects', () => {
  test("JAR §4, FAPI 1.0 Adv §8.6.1: the request object is signed, then encrypted to the server's use-enc key, with kid", async (t) => {
    const fx = await setup(t, { client: { encryption: { requestObject: true } } })
    await expectLogin(fx, await login(fx))
    const pushed = fx.as.lastPushed()
    assert.deepEqual(pushed.encryption, {
      alg: 'RSA-OAEP-256',
      enc: 'A256GCM',
      cty: 'JWT',
      kid: 'as-enc-1',
    })
    assert.equal(pushed.requestObject.header.typ, 'oauth-authz-req+jwt')
    const jwe = pushed.form.get('request') ?? ''
    assert.equal(jwe.split('.').length, 5)
  })

  test("JAR §4: without a use-enc key in the server's JWKS, ERR_ENCRYPTION_KEY_NOT_FOUND", async (t) => {
    const fx = await setup(t, { client: { encryption: { requestObject: true } } })
    fx.as.publishEncryptionKey = false
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_ENCRYPTION_KEY_NOT_FOUND')
    assert.equal(fx.as.requests('/par'), 0)
  })

  test('FAPI 1.0 Adv §8.6.1: a server that offers only RSA1_5 for request objects is ERR_DISCOVERY_INVALID', async (t) => {
    const fx = await setup(t, { client: { encryption: { requestObject: true } } })
    fx.as.metadata = (m) => ({ ...m, request_object_encryption_alg_values_supported: ['RSA1_5'] })
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_DISCOVERY_INVALID')
  })
})

describe("the client's JWKS", () => {
  test('JARM §4.4 (1): jwks() publishes the encryption keys with use enc beside the signing keys', async (t) => {
    const fx = await setup(t, encrypted({}))
    const jwks = (await (await fx.browser.request('/jwks')).json()) as {
      keys: Record<string, unknown>[]
    }
    assert.deepEqual(
      jwks.keys.map((key) => [key.kid, key.use]),
      [
        ['client-ES256', 'sig'],
        ['portal-enc', 'enc'],
      ],
    )
    assert.ok(
      jwks.keys.every((key) => !('d' in key) && !('p' in key)),
      'public halves only',
    )
    // The published key is the one that decrypts: a server encrypting to it is understood.
    const published = jwks.keys.find((key) => key.use === 'enc') ?? {}
    fx.as.encryptJarm = (jwt) => encryptTo(jwt, published)
    await expectLogin(fx, await login(fx))
  })
})
