/**
 * Full logins against a real oidc-provider: PAR and by value, every JARM response mode, PS256 and
 * ES256 client keys, Express 4 and 5. The user agent logs in through the server's own pages.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import type { ResponseMode, Profile } from '../src/index.js'
import {
  AppBrowser,
  frameworkName,
  startApp,
  type ExpressVersion,
  type StartedApp,
} from './support/app.js'
import { generateJwks } from './support/keys.js'
import { startProvider, type StartedProvider } from './support/provider.js'
import { UserAgent } from './support/user-agent.js'

interface Case {
  readonly profile: Extract<Profile, 'fapi2-message-signing' | 'fapi1-advanced'>
  readonly par: boolean
  readonly mode: ResponseMode
  readonly alg: 'PS256' | 'ES256'
  readonly express: ExpressVersion
}

const cases: Case[] = []
for (const express of [5, 4, 'connect'] as const) {
  for (const alg of ['PS256', 'ES256'] as const) {
    for (const mode of ['jwt', 'query.jwt', 'form_post.jwt'] as const) {
      cases.push({ profile: 'fapi2-message-signing', par: true, mode, alg, express })
      cases.push({ profile: 'fapi1-advanced', par: true, mode, alg, express })
      cases.push({ profile: 'fapi1-advanced', par: false, mode, alg, express })
    }
  }
}

const running: Array<{ close(): Promise<void> }> = []
after(async () => {
  await Promise.all(running.map((server) => server.close()))
})

async function setUp(c: Case): Promise<{ app: StartedApp; as: StartedProvider }> {
  const keys = await generateJwks(c.alg)
  let as: StartedProvider | undefined
  const app = await startApp({
    express: c.express,
    client: async ({ redirectUri }) => {
      as = await startProvider({
        fapiProfile: c.profile === 'fapi2-message-signing' ? '2.0' : '1.0 Final',
        clients: [
          {
            clientId: 'portal',
            redirectUri,
            jwks: { keys: [keys.publicJwk] },
            profile: c.profile,
            signingAlg: c.alg,
          },
        ],
      })
      running.push(as)
      return {
        issuer: as.issuer,
        clientId: 'portal',
        redirectUri,
        keys: { signing: [keys.privateJwk] },
        profile: c.profile,
        responseMode: c.mode,
        pushedAuthorizationRequests: c.par,
        // FAPI 2.0 binds with DPoP by default; this plain-http server cannot do FAPI 1.0's mTLS.
        ...(c.profile === 'fapi1-advanced' ? { senderConstraint: 'none' as const } : {}),
        scope: 'openid profile email',
        allowInsecureLoopback: true,
      }
    },
  })
  running.push(app)
  assert.ok(as)
  return { app, as }
}

describe('full login against a real oidc-provider', () => {
  for (const c of cases) {
    const name = `${c.profile} ${c.par ? 'PAR' : 'by value'} ${c.mode} ${c.alg} ${frameworkName(c.express)}`
    test(`${name}: logs in, lands on returnTo, session established`, async () => {
      const { app, as } = await setUp(c)
      const browser = new AppBrowser(app.origin)
      const authorizationUrl = await browser.startLogin('?returnTo=%2Faccount%3Ftab%3D1')

      const query = new URL(authorizationUrl).searchParams
      if (c.par) {
        // FAPI 2.0 §5.3.3.2 (6): only client_id and request_uri reach the browser.
        assert.deepEqual([...query.keys()].sort(), ['client_id', 'request_uri'])
      } else {
        // FAPI 1.0 Adv §5.2.3 (9): response_type, client_id, scope duplicated beside request.
        assert.deepEqual([...query.keys()].sort(), [
          'client_id',
          'request',
          'response_type',
          'scope',
        ])
      }

      const delivery = await new UserAgent().authorize(authorizationUrl, {
        redirectUri: app.redirectUri,
        login: 'alice',
      })
      assert.equal(delivery.method, c.mode === 'form_post.jwt' ? 'POST' : 'GET')
      const sessionBefore = browser.cookieHeader
      const response = await browser.deliver(delivery)
      assert.equal(response.status, 200, await response.clone().text())
      assert.deepEqual(await response.json(), { sub: 'alice', returnTo: '/account?tab=1' })
      assert.equal(as.requests('/token'), 1)
      assert.equal(app.logins.length, 1)
      const [login] = app.logins
      assert.equal(login?.claims.sub, 'alice')
      assert.equal(login?.claims.iss, as.issuer)
      assert.equal(login?.tokens.tokenType, c.profile === 'fapi1-advanced' ? 'Bearer' : 'DPoP')
      assert.match(login?.tokens.scope ?? '', /openid/)

      // session.regenerate(): a new session id, holding the login.
      assert.notEqual(browser.cookieHeader, sessionBefore)
      const me = await browser.request('/me')
      assert.equal(me.status, 200)
      assert.deepEqual(await me.json(), { sub: 'alice' })

      // Single use: the same response again finds no pending login.
      const replay = await browser.deliver(delivery)
      assert.equal(replay.status, 400)
      assert.equal(((await replay.json()) as { error: string }).error, 'ERR_TRANSACTION_NOT_FOUND')
      assert.equal(as.requests('/token'), 1, 'no second token request')
      assert.deepEqual(app.unexpectedErrors, [])
    })
  }

  test('denied consent: the JARM error becomes ERR_AUTHORIZATION_ERROR, no token request', async () => {
    const { app, as } = await setUp({
      profile: 'fapi2-message-signing',
      par: true,
      mode: 'jwt',
      alg: 'PS256',
      express: 5,
    })
    const browser = new AppBrowser(app.origin)
    const delivery = await new UserAgent().authorize(await browser.startLogin(), {
      redirectUri: app.redirectUri,
      deny: true,
    })
    const response = await browser.deliver(delivery)
    assert.equal(response.status, 403)
    assert.equal(((await response.json()) as { error: string }).error, 'ERR_AUTHORIZATION_ERROR')
    assert.equal(as.requests('/token'), 0)
    assert.equal(app.logins.length, 0)
    assert.equal((await browser.request('/me')).status, 401)
  })

  test('two tabs log in at once in one browser, completed in reverse order', async () => {
    const { app } = await setUp({
      profile: 'fapi2-message-signing',
      par: true,
      mode: 'jwt',
      alg: 'ES256',
      express: 5,
    })
    const browser = new AppBrowser(app.origin)
    const first = await browser.startLogin('?returnTo=%2Fone')
    const second = await browser.startLogin('?returnTo=%2Ftwo')
    const agent = new UserAgent()
    const deliverSecond = await agent.authorize(second, { redirectUri: app.redirectUri })
    const deliverFirst = await agent.authorize(first, { redirectUri: app.redirectUri })
    const two = await browser.deliver(deliverSecond)
    assert.equal(two.status, 200)
    assert.equal(((await two.json()) as { returnTo: string }).returnTo, '/two')
    const one = await browser.deliver(deliverFirst)
    assert.equal(one.status, 200, await one.clone().text())
    assert.equal(((await one.json()) as { returnTo: string }).returnTo, '/one')
  })
})
