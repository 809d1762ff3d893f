/**
 * The mix-up defence is the core's (RFC 9700 §4.4): every callback refuses another configured
 * server's response as `ERR_MIX_UP_DETECTED` before any token request, whatever its path (one
 * callback path per bank) or its adapter (Express, Connect, the node:http example built on
 * `express-fapi/core`). Two hostile servers are banks A and B; a response for a login at A that
 * carries B's `iss`, or is signed by B's keys, is refused, and A's pending login is kept for its
 * real response. The callback's result names the bank; a login naming two banks is refused.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import { SignJWT } from 'jose'
import { createNodeHttpApp } from '../examples/node-http/app.js'
import { AppBrowser } from './support/app.js'
import { expectError } from './support/hostile-fixture.js'
import { startHostileServer, type HostileServer } from './support/hostile-server.js'
import { generateJwks } from './support/keys.js'
import { startTwoBanks, type TwoBanks, type TwoBanksOptions } from './support/two-banks.js'

/** A JARM response signed by `signer`'s key, with these claims. */
async function signedBy(signer: HostileServer, claims: Record<string, unknown>): Promise<string> {
  const key = signer.key('ES256')
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ code: 'forged-code', aud: 'portal', exp: now + 300, iat: now, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .sign(key.privateKey)
}

function tokenRequests(app: TwoBanks): number {
  return app.banks['bank-a'].requests('/token') + app.banks['bank-b'].requests('/token')
}

/** A login at bank A, authorized there: its genuine delivery and its state. */
async function loginAtA(app: TwoBanks) {
  const location = await app.browser.startLogin('?server=bank-a')
  const authorized = await app.banks['bank-a'].authorize(location)
  return { authorized, state: String(authorized.request.state) }
}

/** B's response for A's login (B's iss, or A's iss signed by B's keys) is refused; A's completes. */
async function expectMixUpRefused(
  t: TestContext,
  options: TwoBanksOptions,
  claim: 'iss' | 'keys',
): Promise<void> {
  const app = await startTwoBanks(t, options)
  const { authorized, state } = await loginAtA(app)
  const forged = await signedBy(app.banks['bank-b'], {
    iss: claim === 'iss' ? app.banks['bank-b'].issuer : app.banks['bank-a'].issuer,
    state,
  })
  await expectError(
    await app.browser.request(`${app.redirectUris['bank-a']}?response=${forged}`),
    400,
    'ERR_MIX_UP_DETECTED',
  )
  assert.equal(tokenRequests(app), 0, 'no token request after a mix-up')
  const real = await app.browser.deliver(authorized)
  assert.equal(real.status, 200, await real.clone().text())
  assert.deepEqual(await real.json(), { ok: true, server: 'bank-a' })
  assert.deepEqual(app.completed, ['bank-a'], 'the callback result names the bank')
  assert.deepEqual(app.unexpectedErrors, [])
}

describe('the mix-up defence in the core, RFC 9700 §4.4', () => {
  test("RFC 9700 §4.4 (separate callback paths): a response for a bank-a login signed by bank-b's keys is ERR_MIX_UP_DETECTED, no token request", async (t) => {
    await expectMixUpRefused(t, { paths: 'separate' }, 'keys')
  })

  test("RFC 9700 §4.4 (separate callback paths): a response for a bank-a login carrying bank-b's iss is ERR_MIX_UP_DETECTED, no token request", async (t) => {
    await expectMixUpRefused(t, { paths: 'separate' }, 'iss')
  })

  test("RFC 9700 §4.4 (Connect, separate callback paths): bank-b's keys for a bank-a login are ERR_MIX_UP_DETECTED, no token request", async (t) => {
    await expectMixUpRefused(t, { framework: 'connect', paths: 'separate' }, 'keys')
  })

  test("RFC 9700 §4.4 (Connect, shared callback): bank-b's iss for a bank-a login is ERR_MIX_UP_DETECTED, no token request", async (t) => {
    await expectMixUpRefused(t, { framework: 'connect' }, 'iss')
  })

  test("RFC 9700 §4.4, RFC 9207 §2.4 (plain query response, separate paths): bank-b's iss for a bank-a login is ERR_MIX_UP_DETECTED, no token request", async (t) => {
    const app = await startTwoBanks(t, {
      paths: 'separate',
      client: { profile: 'fapi2-security', responseMode: 'query' },
    })
    const { authorized } = await loginAtA(app)
    const foreign = await authorized.mint({
      claims: (claims) => ({ ...claims, iss: app.banks['bank-b'].issuer }),
    })
    await expectError(await app.browser.deliver(foreign), 400, 'ERR_MIX_UP_DETECTED')
    assert.equal(tokenRequests(app), 0)
    const real = await app.browser.deliver(authorized)
    assert.equal(real.status, 200, await real.clone().text())
    assert.deepEqual(app.completed, ['bank-a'])
  })

  test('RFC 9700 §4.4: the callback result names the bank that completed, on a shared callback path', async (t) => {
    const app = await startTwoBanks(t, { clients: {} })
    const location = await app.browser.startLogin('?server=bank-b')
    const delivery = await app.banks['bank-b'].authorize(location)
    const landed = await app.browser.deliver(delivery)
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.deepEqual(await landed.json(), { ok: true, server: 'bank-b' })
    assert.deepEqual(app.completed, ['bank-b'])
  })

  test('RFC 9700 §4.4: a login that names its server twice (?server=a&server=b) is ERR_SERVER_AMBIGUOUS, and starts nowhere', async (t) => {
    const app = await startTwoBanks(t)
    for (const query of ['?server=bank-a&server=bank-b', '?server=bank-a&server=bank-a']) {
      await expectError(
        await app.browser.request(`/auth/login${query}`),
        400,
        'ERR_SERVER_AMBIGUOUS',
      )
    }
    assert.equal(app.banks['bank-a'].pushed().length + app.banks['bank-b'].pushed().length, 0)
  })

  test("RFC 9700 §4.4 (node:http adapter on express-fapi/core, createFapiCores): bank-b's keys or iss for a bank-a login are ERR_MIX_UP_DETECTED, no token request", async (t) => {
    const server = createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const key = await generateJwks('ES256', 'node-http-banks')
    const start = () =>
      startHostileServer({
        clientId: 'portal',
        clientJwks: { keys: [key.publicJwk] },
        alg: 'ES256',
      })
    const [bankA, bankB] = await Promise.all([start(), start()])
    await bankB.rotate()
    t.after(async () => {
      server.closeAllConnections()
      server.close()
      await Promise.all([bankA.close(), bankB.close()])
    })
    const options = (issuer: string, name: string) => ({
      issuer,
      clientId: 'portal',
      redirectUri: `${origin}/callback/${name}`,
      keys: { signing: [key.privateJwk] },
      senderConstraint: 'none' as const,
      allowInsecureLoopback: true,
    })
    const app = createNodeHttpApp({
      servers: {
        'bank-a': options(bankA.issuer, 'bank-a'),
        'bank-b': options(bankB.issuer, 'bank-b'),
      },
    })
    server.on('request', app.listener)
    const browser = new AppBrowser(origin)
    const started = await browser.request('/login?server=bank-a')
    assert.equal(started.status, 303, await started.clone().text())
    const authorized = await bankA.authorize(started.headers.get('location') ?? '')
    const state = String(authorized.request.state)
    for (const iss of [bankA.issuer, bankB.issuer]) {
      const forged = await signedBy(bankB, { iss, state })
      await expectError(
        await browser.request(`/callback/bank-a?response=${forged}`),
        400,
        'ERR_MIX_UP_DETECTED',
      )
    }
    assert.equal(bankA.requests('/token') + bankB.requests('/token'), 0)
    const real = await browser.deliver(authorized)
    assert.equal(real.status, 303, await real.clone().text())
    assert.equal(bankA.requests('/token'), 1)
    const me = await browser.request('/me')
    assert.equal(me.status, 200, await me.clone().text())
  })
})
