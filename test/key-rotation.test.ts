/**
 * Key rotation without a restart (`updateKeys`), against a real oidc-provider that caches the
 * client's JWKS: a new key is published as `next` ahead of use, signs only once made `active`,
 * logins pending across the rotation complete, and the server sees the new kid only after the
 * overlap. Encryption keys: every listed key decrypts; a removed one no longer does.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FapiConfigError } from '../src/index.js'
import { startFapi2Login, type Fapi2Login } from './support/fapi2-fixture.js'
import { generateEncryptionJwks, generateJwks } from './support/keys.js'
import { countingSigner } from './support/signers.js'

/** The overlap has passed: the server's cached copy of the client's JWKS is stale. */
async function serverCacheExpires(fx: Fapi2Login): Promise<void> {
  const { Client } = fx.as.provider as unknown as { Client: { find(id: string): Promise<unknown> } }
  const client = await Client.find('portal')
  const store = (client as unknown as { asymmetricKeyStore: { freshUntil: number } })
    .asymmetricKeyStore
  store.freshUntil = 0
}

async function publishedKids(fx: Fapi2Login): Promise<string[]> {
  const jwks = (await (await fx.browser.request('/jwks')).json()) as { keys: { kid: string }[] }
  return jwks.keys.map((key) => key.kid)
}

const kids = (signer: { calls: { header: Record<string, unknown> }[] }) =>
  signer.calls.map(({ header }) => header.kid)

describe('signing key rotation', () => {
  test('next, then active with the old one retiring, then removed: pending logins complete, the server sees the new kid only after the overlap', async (t) => {
    const oldKey = await countingSigner('ES256', 'key-2026')
    const newKey = await countingSigner('ES256', 'key-2027')
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-message-signing',
      senderConstraint: 'dpop',
      refreshTokens: true,
      client: { keys: { signing: [oldKey] } },
    })
    const { client } = fx.app
    // A login is started (request object and PAR assertion signed by the old key)...
    const pending = await fx.authorize()
    assert.equal(oldKey.calls.length, 2)

    // ...the new key is published ahead of use: the old one still signs.
    client.updateKeys({ signing: [{ ...newKey, state: 'next' }, oldKey] })
    assert.deepEqual(await publishedKids(fx), ['key-2027', 'key-2026'])
    const second = await fx.authorize()
    assert.equal(newKey.calls.length, 0, 'a next key does not sign')

    // The overlap passes: the server fetches the JWKS again and knows both keys.
    await serverCacheExpires(fx)
    client.updateKeys({ signing: [{ ...oldKey, state: 'retiring' }, newKey] })
    assert.deepEqual(
      await publishedKids(fx),
      ['key-2026', 'key-2027'],
      'the old key is still published',
    )

    // Both pending logins complete: their token requests are signed by the new key.
    const landed = await fx.browser.deliver(pending)
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.deepEqual(kids(newKey), ['key-2027'])
    const landedSecond = await fx.browser.deliver(second)
    assert.equal(landedSecond.status, 200, await landedSecond.clone().text())
    assert.equal(fx.app.logins.length, 2)
    assert.equal(oldKey.calls.length, 4, 'the old key signed only before the rotation')

    // The old key is removed: no longer published, and everything goes on under the new one.
    client.updateKeys({ signing: [newKey] })
    assert.deepEqual(await publishedKids(fx), ['key-2027'])
    await serverCacheExpires(fx)
    const refreshed = await fx.browser.request('/refresh', { method: 'POST' })
    assert.equal(refreshed.status, 200, await refreshed.clone().text())
    const third = await fx.browser.deliver(await fx.authorize())
    assert.equal(third.status, 200, await third.clone().text())
    assert.equal(oldKey.calls.length, 4)
    assert.deepEqual(new Set(kids(newKey)), new Set(['key-2027']))
    assert.equal(newKey.calls.length, 2 + 1 + 3)
  })

  test('a key made active before the server fetched it is refused by the server: why "next" exists', async (t) => {
    const oldKey = await countingSigner('ES256', 'key-a')
    const newKey = await countingSigner('ES256', 'key-b')
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      client: { keys: { signing: [oldKey] } },
    })
    const pending = await fx.authorize()
    fx.app.client.updateKeys({ signing: [newKey, { ...oldKey, state: 'retiring' }] })
    const landed = await fx.browser.deliver(pending)
    const body = (await landed.json()) as { error: string }
    assert.equal(body.error, 'ERR_CLIENT_AUTH_REFUSED', 'the server still caches the old JWKS')
    await serverCacheExpires(fx)
    const again = await fx.browser.deliver(await fx.authorize())
    assert.equal(again.status, 200, await again.clone().text())
  })

  test('an update is checked like the startup keys: a mistake throws and keeps the current keys', async (t) => {
    const key = await countingSigner('ES256', 'kept')
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      client: { keys: { signing: [key] } },
    })
    const { client } = fx.app
    const other = await generateJwks('ES256', 'other')
    const refused = [
      { signing: [] },
      { signing: [{ ...key, state: 'next' as const }] },
      { signing: [{ ...other.privateJwk, state: 'expired' as 'next' }] },
      { signing: [key, other.publicJwk] },
      { signing: [key, { ...other.privateJwk, kid: 'kept' }] },
    ]
    for (const keys of refused) {
      assert.throws(
        () => client.updateKeys(keys),
        FapiConfigError,
        JSON.stringify(keys.signing.map((k) => k.kid)),
      )
    }
    assert.deepEqual(await publishedKids(fx), ['kept'])
    const landed = await fx.browser.deliver(await fx.authorize())
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.equal(key.calls.length, 2)
  })

  test('an update leaving no active key the server accepts: ERR_SIGNING_KEY_UNAVAILABLE, nothing sent', async (t) => {
    const key = await countingSigner('ES256', 'es')
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      client: { keys: { signing: [key] } },
    })
    const ed = await countingSigner('EdDSA', 'ed')
    await fx.authorize()
    fx.app.client.updateKeys({ signing: [ed, { ...key, state: 'retiring' }] })
    const answer = await fx.browser.request('/auth/login')
    const body = (await answer.json()) as { error: string }
    assert.equal(body.error, 'ERR_SIGNING_KEY_UNAVAILABLE')
    assert.equal(ed.calls.length, 0)
    assert.equal(fx.as.requests('main', '/request'), 1, 'only the first login was pushed')
  })
})

describe('encryption key rotation', () => {
  test('responses encrypted to any listed key open; to a removed key, they do not', async (t) => {
    const signing = await generateJwks('ES256', 'sig')
    const first = await generateEncryptionJwks('enc-1')
    const second = await generateEncryptionJwks('enc-2')
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-message-signing',
      senderConstraint: 'dpop',
      encryption: { idToken: true },
      client: { keys: { signing: [signing.privateJwk], encryption: [first.privateJwk] } },
    })
    const { client } = fx.app
    const login = async () => fx.browser.deliver(await fx.authorize())
    const ok = await login()
    assert.equal(ok.status, 200, await ok.clone().text())

    // Both listed: the server (still caching enc-1) encrypts to enc-1, and it opens.
    client.updateKeys({
      signing: [signing.privateJwk],
      encryption: [second.privateJwk, first.privateJwk],
    })
    const during = await login()
    assert.equal(during.status, 200, await during.clone().text())

    // enc-1 removed while the server still encrypts to it: refused.
    client.updateKeys({ signing: [signing.privateJwk], encryption: [second.privateJwk] })
    const removed = await login()
    assert.equal(
      ((await removed.json()) as { error: string }).error,
      'ERR_ID_TOKEN_DECRYPTION_FAILED',
    )

    // Once the server has the new JWKS, it encrypts to enc-2, which opens.
    await serverCacheExpires(fx)
    const after = await login()
    assert.equal(after.status, 200, await after.clone().text())
    assert.equal(fx.app.logins.length, 3)
  })
})
