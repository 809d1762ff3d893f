/**
 * Interoperability with LemonLDAP::NG (Debian's package), an OpenID Connect provider written
 * independently of oidc-provider that authenticates clients with secrets only: under the `oidc`
 * profile, a `client_secret_basic` and a `client_secret_post` client log in through express-fapi
 * (PKCE, nonce, RS256 ID token) and call userinfo; a wrong secret is refused with a code that names
 * no secret; `private_key_jwt` stops at discovery with what to change. docs/engineering/interop.md lists the
 * settings.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test, type TestContext } from 'node:test'
import type { Express } from 'express'
import type { FapiClient, FapiClientOptions } from '../../src/index.js'
import { AppBrowser, startApp } from '../support/app.js'
import { generateJwks } from '../support/keys.js'
import {
  LEMONLDAP_USER,
  lemonldapMissing,
  startLemonldap,
  type StartedLemonldap,
} from '../support/lemonldap.js'

const CLIENT_ID = 'portal'

function routes(app: Express, client: FapiClient): void {
  app.get('/userinfo', (req, res, next) => {
    client.userinfo(req).then((claims) => res.json(claims), next)
  })
}

/** A portal with the client registered under `secret`, an app configured with `given`. */
async function setup(
  t: TestContext,
  given: (issuer: string) => Partial<FapiClientOptions>,
  registeredSecret = randomBytes(24).toString('base64url'),
): Promise<{ portal: StartedLemonldap; browser: AppBrowser; redirectUri: string }> {
  let portal: StartedLemonldap | undefined
  const app = await startApp({
    routes,
    client: async ({ redirectUri }) => {
      portal = await startLemonldap([
        { clientId: CLIENT_ID, clientSecret: registeredSecret, redirectUri },
      ])
      return {
        issuer: portal.issuer,
        clientId: CLIENT_ID,
        redirectUri,
        profile: 'oidc',
        // LemonLDAP::NG signs ID tokens with RS256 or HMAC only.
        algorithms: ['RS256'],
        scope: 'openid profile email',
        allowInsecureLoopback: true,
        ...given(portal.issuer),
      }
    },
  })
  const started = portal as StartedLemonldap | undefined
  t.after(async () => {
    await app.close()
    await started?.close()
  })
  if (started === undefined) throw new Error('the portal did not start')
  return { portal: started, browser: new AppBrowser(app.origin), redirectUri: app.redirectUri }
}

describe('LemonLDAP::NG interop', { skip: lemonldapMissing, timeout: 180_000 }, () => {
  for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
    test(`oidc, ${method}: login with PKCE and an RS256 ID token, then userinfo`, async (t) => {
      const secret = randomBytes(24).toString('base64url')
      const { portal, browser, redirectUri } = await setup(
        t,
        () => ({ clientAuthMethod: method, clientSecret: secret }),
        secret,
      )
      const delivery = await portal.authorize(await browser.startLogin(), redirectUri)
      const landed = await browser.deliver(delivery)
      const text = await landed.text()
      assert.equal(landed.status, 200, `${text.slice(0, 400)}\n${portal.log()}`)
      assert.equal((JSON.parse(text) as { sub: unknown }).sub, LEMONLDAP_USER)
      const userinfo = await browser.request('/userinfo')
      const claims = (await userinfo.json()) as Record<string, unknown>
      assert.equal(userinfo.status, 200, JSON.stringify(claims))
      assert.equal(claims.sub, LEMONLDAP_USER)
      assert.equal(typeof claims.name, 'string')
    })
  }

  test('oidc, client_secret_basic with a secret the portal does not know: refused with a code, the secret named nowhere', async (t) => {
    const wrong = `wrong-${randomBytes(24).toString('base64url')}`
    const { portal, browser, redirectUri } = await setup(t, () => ({
      clientAuthMethod: 'client_secret_basic',
      clientSecret: wrong,
    }))
    const landed = await browser.deliver(
      await portal.authorize(await browser.startLogin(), redirectUri),
    )
    const text = await landed.text()
    assert.equal(landed.status, 502, text)
    const { error, message } = JSON.parse(text) as { error: string; message: string }
    assert.equal(error, 'ERR_CLIENT_AUTH_REFUSED', text)
    assert.match(message, /clientSecret/, 'names the option to check')
    assert.ok(!text.includes(wrong), 'the secret is not in the answer')
  })

  test('oidc with private_key_jwt (the default) stops at discovery: the portal offers only secrets', async (t) => {
    const key = await generateJwks('RS256', 'portal-rs256')
    const { browser } = await setup(t, () => ({ keys: { signing: [key.privateJwk] } }))
    const answer = await browser.request('/auth/login')
    const text = await answer.text()
    assert.notEqual(answer.status, 303)
    const { error, message } = JSON.parse(text) as { error: string; message: string }
    assert.equal(error, 'ERR_DISCOVERY_INVALID', text)
    assert.match(message, /token_endpoint_auth_methods_supported.*private_key_jwt/)
  })
})
