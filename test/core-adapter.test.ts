/**
 * `express-fapi/core` without a framework: the plain node:http adapter of examples/node-http logs in
 * against the real oidc-provider with its own sessions (no express-session), and the core's
 * rules hold through it (single use, a bare callback).
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import { createNodeHttpApp } from '../examples/node-http/app.js'
import { AppBrowser } from './support/app.js'
import { generateJwks } from './support/keys.js'
import { startProvider } from './support/provider.js'
import { UserAgent } from './support/user-agent.js'

async function start(t: TestContext, responseMode: 'jwt' | 'form_post.jwt') {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const redirectUri = `${origin}/callback`
  const keys = await generateJwks('ES256')
  const as = await startProvider({
    fapiProfile: '2.0',
    clients: [
      {
        clientId: 'portal',
        redirectUri,
        jwks: { keys: [keys.publicJwk] },
        profile: 'fapi2-message-signing',
        signingAlg: 'ES256',
      },
    ],
  })
  const app = createNodeHttpApp({
    issuer: as.issuer,
    clientId: 'portal',
    redirectUri,
    keys: { signing: [keys.privateJwk] },
    responseMode,
    allowInsecureLoopback: true,
  })
  server.on('request', app.listener)
  t.after(async () => {
    server.closeAllConnections()
    server.close()
    await as.close()
  })
  const browser = new AppBrowser(origin)
  async function authorize() {
    const login = await browser.request('/login?returnTo=/me')
    assert.equal(login.status, 303, await login.clone().text())
    return new UserAgent().authorize(login.headers.get('location') ?? '', { redirectUri })
  }
  return { browser, authorize }
}

describe('express-fapi/core under a plain node:http adapter', () => {
  for (const mode of ['jwt', 'form_post.jwt'] as const) {
    test(`${mode}: logs in through the core alone, then /me answers with the user`, async (t) => {
      const { browser, authorize } = await start(t, mode)
      assert.equal((await browser.request('/me')).status, 401)
      const landed = await browser.deliver(await authorize())
      assert.equal(landed.status, 303, await landed.clone().text())
      assert.equal(landed.headers.get('location'), '/me')
      const me = await browser.request('/me')
      assert.equal(me.status, 200)
      assert.deepEqual(await me.json(), { sub: 'alice' })
    })
  }

  test('JARM §4.4 (final): a replayed response is refused through the core alone', async (t) => {
    const { browser, authorize } = await start(t, 'jwt')
    const delivery = await authorize()
    assert.equal((await browser.deliver(delivery)).status, 303)
    const replay = await browser.deliver(delivery)
    assert.equal(replay.status, 400)
    assert.equal(((await replay.json()) as { error: string }).error, 'ERR_TRANSACTION_NOT_FOUND')
  })

  test('a callback opened with no parameters is ERR_CALLBACK_MALFORMED, and says so', async (t) => {
    const { browser } = await start(t, 'jwt')
    const answer = await browser.request('/callback')
    assert.equal(answer.status, 400)
    const body = (await answer.json()) as { error: string; message: string }
    assert.equal(body.error, 'ERR_CALLBACK_MALFORMED')
    assert.match(body.message, /without an authorization response/)
  })
})
