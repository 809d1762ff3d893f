/**
 * Banks resolved on demand (`fapiClients(resolve)`): a bank's client is created on its first use
 * (its discovery and JWKS fetched once, whatever the number of concurrent first logins), kept in
 * a cache bounded by `maxServers` (least recently used evicted; a pending login of an evicted
 * bank completes: the bank is created anew on its callback), a failure is not kept longer than
 * `retryAfter`, and a name the resolver does not know is refused. Hostile servers are the banks,
 * a real Express app with express-session the client.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import express from 'express'
import session from 'express-session'
import { SignJWT } from 'jose'
import {
  errorHandler,
  fapiClients,
  type FapiClientOptions,
  type FapiClients,
  type FapiClientsOptions,
} from '../src/index.js'
import { AppBrowser } from './support/app.js'
import { expectError } from './support/hostile-fixture.js'
import { startHostileServer, type HostileServer } from './support/hostile-server.js'
import { generateJwks } from './support/keys.js'
import { logoutToken } from './support/hostile-logout.js'
import { recordingRouter } from './support/two-banks.js'

const DISCOVERY = '/.well-known/openid-configuration'

interface OnDemandApp {
  readonly origin: string
  readonly banks: readonly HostileServer[]
  readonly clients: FapiClients
  /** The names the resolver was asked for, in order. */
  readonly asked: string[]
  readonly completed: (string | undefined)[]
  browser(): AppBrowser
}

/**
 * An app whose resolver knows `bank-0` … `bank-<count - 1>` (one hostile server each); `fail`
 * makes the resolver throw for a name while it returns true.
 */
async function startOnDemand(
  t: TestContext,
  count: number,
  settings: Omit<FapiClientsOptions, 'resolve'> = {},
  fail: (name: string) => boolean = () => false,
): Promise<OnDemandApp> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const key = await generateJwks('ES256', 'on-demand')
  const banks = await Promise.all(
    Array.from({ length: count }, () =>
      startHostileServer({
        clientId: 'portal',
        clientJwks: { keys: [key.publicJwk] },
        alg: 'ES256',
      }),
    ),
  )
  // Each bank its own signing key (the run's keys are shared by every hostile server).
  await Promise.all(banks.map((bank) => bank.rotate()))
  const asked: string[] = []
  const completed: (string | undefined)[] = []
  const clients = fapiClients(async (name): Promise<FapiClientOptions | undefined> => {
    asked.push(name)
    await new Promise((resolve) => setImmediate(resolve))
    if (fail(name)) throw new Error('directory down (secret detail)')
    // `alias-<n>`: a second name for bank-<n>'s server (refused: one name per server).
    const index = /^(?:bank|alias)-(\d+)$/.exec(name)?.[1]
    const bank = index === undefined ? undefined : banks[Number(index)]
    if (bank === undefined) return undefined
    return {
      issuer: bank.issuer,
      clientId: 'portal',
      redirectUri: `${origin}/auth/callback`,
      keys: { signing: [key.privateJwk] },
      senderConstraint: 'none',
      allowInsecureLoopback: true,
    }
  }, settings)
  const app = express()
  app.use(session({ secret: 'test-secret', resave: false, saveUninitialized: false }))
  app.use(recordingRouter(clients, completed))
  app.get('/logins', (req, res, next) => {
    clients.currentLogins(req).then((logins) => res.json(Object.keys(logins).sort()), next)
  })
  // The logout of one bank of the set (every bank's logout ends every grant of the session).
  app.post('/logout/:bank', (req, res, next) => {
    clients.resolve(req.params.bank).then((bank) => bank.logout()(req, res, next), next)
  })
  app.use(errorHandler())
  server.on('request', app)
  t.after(async () => {
    server.closeAllConnections()
    server.close()
    await Promise.all(banks.map((bank) => bank.close()))
  })
  return { origin, banks, clients, asked, completed, browser: () => new AppBrowser(origin) }
}

/** A login at `bank-<index>`: the authorization URL the app redirected to. */
async function startLogin(app: OnDemandApp, browser: AppBrowser, index: number): Promise<string> {
  const started = await browser.request(`/auth/login?server=bank-${index}`)
  assert.equal(started.status, 303, await started.clone().text())
  return started.headers.get('location') ?? ''
}

/** An app of 3 banks (maxServers 2) with a login at bank-0 whose ID token has `sid: 'sid-0'`. */
async function linkedAtBank0(t: TestContext) {
  const app = await startOnDemand(t, 3, { maxServers: 2 })
  const browser = app.browser()
  const bank = app.banks[0]!
  bank.idToken = { claims: (claims) => ({ ...claims, sid: 'sid-0' }) }
  const landed = await browser.deliver(await bank.authorize(await startLogin(app, browser, 0)))
  assert.equal(landed.status, 200, await landed.clone().text())
  const client = await app.clients.resolve('bank-0')
  const [grantId] = await client.findGrants({ issuer: bank.issuer, sid: 'sid-0' })
  assert.ok(grantId !== undefined)
  return { app, browser, bank, grantId }
}

/** A bank's POST of a logout token to the back-channel logout route (`query`: e.g. `?server=`). */
function postLogoutToken(app: OnDemandApp, query: string, token: string): Promise<Response> {
  return fetch(`${app.origin}/auth/backchannel-logout${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }),
  })
}

describe('banks resolved on demand', () => {
  test('banks resolved on demand: 50 concurrent first logins at one bank create its client once (one resolver call, one discovery request)', async (t) => {
    const app = await startOnDemand(t, 1)
    const browsers = Array.from({ length: 50 }, () => app.browser())
    const answers = await Promise.all(
      browsers.map((browser) => browser.request('/auth/login?server=bank-0')),
    )
    assert.deepEqual(
      answers.map((answer) => answer.status),
      browsers.map(() => 303),
    )
    assert.deepEqual(app.asked, ['bank-0'])
    assert.equal(app.banks[0]?.requests(DISCOVERY), 1)
    assert.deepEqual(app.clients.names, ['bank-0'])
    // A login completes, and its result names the bank.
    const delivery = await app.banks[0]!.authorize(answers[7]!.headers.get('location') ?? '')
    const landed = await browsers[7]!.deliver(delivery)
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.deepEqual(app.completed, ['bank-0'])
  })

  test('banks resolved on demand: the cache keeps maxServers banks, the least recently used is evicted and created anew on its next use', async (t) => {
    const app = await startOnDemand(t, 3, { maxServers: 2 })
    const browser = app.browser()
    await startLogin(app, browser, 0)
    await startLogin(app, browser, 1)
    await startLogin(app, browser, 0) // bank-0 used last: bank-1 is the least recently used
    await startLogin(app, browser, 2)
    assert.deepEqual([...app.clients.names].sort(), ['bank-0', 'bank-2'])
    assert.throws(() => app.clients.client('bank-1'), /no server named "bank-1"/)
    assert.deepEqual(app.asked, ['bank-0', 'bank-1', 'bank-2'])
    await startLogin(app, browser, 1)
    assert.deepEqual(app.asked, ['bank-0', 'bank-1', 'bank-2', 'bank-1'])
    assert.equal(app.banks[1]?.requests(DISCOVERY), 2)
    assert.deepEqual([...app.clients.names].sort(), ['bank-1', 'bank-2'])
  })

  test('banks resolved on demand: a pending login whose bank was evicted completes on its callback, with that bank created anew', async (t) => {
    const app = await startOnDemand(t, 2, { maxServers: 1 })
    const browser = app.browser()
    const atZero = await startLogin(app, browser, 0)
    await startLogin(app, browser, 1) // evicts bank-0
    assert.deepEqual(app.clients.names, ['bank-1'])
    const delivery = await app.banks[0]!.authorize(atZero)
    const landed = await browser.deliver(delivery)
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.deepEqual(await landed.json(), { ok: true, server: 'bank-0' })
    assert.equal(app.banks[0]?.requests('/token'), 1)
    assert.deepEqual(app.asked, ['bank-0', 'bank-1', 'bank-0'])
  })

  test('banks resolved on demand: a bank whose creation failed is tried again on the next use (retryAfter 0), and its error is withheld', async (t) => {
    let down = true
    const app = await startOnDemand(t, 1, { retryAfter: 0 }, () => down)
    const browser = app.browser()
    const failed = await browser.request('/auth/login?server=bank-0')
    const text = await failed.clone().text()
    await expectError(failed, 503, 'ERR_SERVER_RESOLUTION_FAILED')
    assert.doesNotMatch(text, /secret detail/)
    down = false
    await startLogin(app, browser, 0)
    assert.deepEqual(app.asked, ['bank-0', 'bank-0'])
  })

  test('banks resolved on demand: a bank that was unreachable works once it is back (retryAfter 0)', async (t) => {
    const app = await startOnDemand(t, 1, { retryAfter: 0 })
    await app.banks[0]!.down()
    const browser = app.browser()
    const failed = await browser.request('/auth/login?server=bank-0')
    assert.equal(failed.status, 502, await failed.clone().text())
    await app.banks[0]!.up()
    await startLogin(app, browser, 0)
  })

  test('banks resolved on demand: within retryAfter a failed bank is answered with its failure, without asking the resolver again', async (t) => {
    const app = await startOnDemand(t, 1, { retryAfter: 3600 }, () => true)
    const browser = app.browser()
    for (let round = 0; round < 3; round += 1) {
      await expectError(
        await browser.request('/auth/login?server=bank-0'),
        503,
        'ERR_SERVER_RESOLUTION_FAILED',
      )
    }
    assert.deepEqual(app.asked, ['bank-0'])
  })

  test('banks resolved on demand: a name the resolver does not know, or not a server name, is ERR_SERVER_UNKNOWN', async (t) => {
    const app = await startOnDemand(t, 1)
    const browser = app.browser()
    await expectError(await browser.request('/auth/login?server=bank-9'), 400, 'ERR_SERVER_UNKNOWN')
    await expectError(
      await browser.request('/auth/login?server=..%2Fbank-0'),
      400,
      'ERR_SERVER_UNKNOWN',
    )
    assert.deepEqual(app.asked, ['bank-9'], 'an invalid name never reaches the resolver')
    await assert.rejects(app.clients.resolve('bank-9'), { code: 'ERR_SERVER_UNKNOWN' })
  })

  test("RFC 9700 §4.4 (banks resolved on demand): a response for a bank-0 login signed by a created bank-1's keys is ERR_MIX_UP_DETECTED, no token request", async (t) => {
    const app = await startOnDemand(t, 2)
    const browser = app.browser()
    const atZero = await startLogin(app, browser, 0)
    await startLogin(app, app.browser(), 1) // bank-1 is created (by another user's login)
    const authorized = await app.banks[0]!.authorize(atZero)
    const key = app.banks[1]!.key('ES256')
    const now = Math.floor(Date.now() / 1000)
    const forged = await new SignJWT({
      iss: app.banks[0]!.issuer,
      aud: 'portal',
      state: authorized.request.state,
      code: 'forged',
      exp: now + 300,
      iat: now,
    })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .sign(key.privateKey)
    await expectError(
      await browser.request(`/auth/callback?response=${forged}`),
      400,
      'ERR_MIX_UP_DETECTED',
    )
    assert.equal(app.banks[0]!.requests('/token') + app.banks[1]!.requests('/token'), 0)
    const landed = await browser.deliver(authorized)
    assert.equal(landed.status, 200, await landed.clone().text())
  })

  test('banks resolved on demand, RFC 9700 §4.4: a second name for a server is refused, also when both names are first used at once', async (t) => {
    const app = await startOnDemand(t, 1, { retryAfter: 0 })
    const answers = await Promise.all(
      ['bank-0', 'alias-0'].map((name) => app.browser().request(`/auth/login?server=${name}`)),
    )
    const refused = answers.filter((answer) => answer.status !== 303)
    assert.equal(refused.length, 1, answers.map((answer) => answer.status).join(', '))
    const body = await refused[0]!.clone().text()
    await expectError(refused[0]!, 503, 'ERR_SERVER_RESOLUTION_FAILED')
    assert.match(body, /has its issuer/)
    assert.equal(app.clients.names.length, 1)
    // Later, while the first is in the cache, the other name is refused too.
    const other = app.clients.names[0] === 'bank-0' ? 'alias-0' : 'bank-0'
    await expectError(
      await app.browser().request(`/auth/login?server=${other}`),
      503,
      'ERR_SERVER_RESOLUTION_FAILED',
    )
  })

  test("Back-Channel Logout §2.6 (banks resolved on demand): the logout token's iss picks the bank among those created; a bank not in the cache is ERR_LOGOUT_TOKEN_ISS_MISMATCH", async (t) => {
    const { app, bank, grantId } = await linkedAtBank0(t)
    const client = await app.clients.resolve('bank-0')
    const post = (token: string) => postLogoutToken(app, '', token)
    const answer = await post(await logoutToken(bank, 'portal', { sid: 'sid-0' }))
    assert.equal(answer.status, 200, await answer.clone().text())
    assert.equal((await client.grant(grantId).get())?.status, 'ended')
    // bank-2 was never created here: its token names no bank of the cache (the documented limit).
    await expectError(
      await post(await logoutToken(app.banks[2]!, 'portal', { sid: 'sid-2' })),
      400,
      'ERR_LOGOUT_TOKEN_ISS_MISMATCH',
    )
  })

  test('Back-Channel Logout §2.6 (banks resolved on demand): a logout token posted with ?server= naming a bank evicted from the cache (or never used here) creates it and ends its grant; the named bank must exist', async (t) => {
    const { app, browser, bank, grantId } = await linkedAtBank0(t)
    await startLogin(app, app.browser(), 1)
    await startLogin(app, app.browser(), 2) // evicts bank-0
    assert.deepEqual([...app.clients.names].sort(), ['bank-1', 'bank-2'])
    const post = (query: string, token: string) => postLogoutToken(app, query, token)
    const token = await logoutToken(bank, 'portal', { sid: 'sid-0' })
    // Unnamed, the token of a bank not in the cache is refused (no bank of the cache has its iss).
    await expectError(await post('', token), 400, 'ERR_LOGOUT_TOKEN_ISS_MISMATCH')
    await expectError(await post('?server=bank-7', token), 400, 'ERR_SERVER_UNKNOWN')
    // Named, its bank is created again and checks it.
    const answer = await post('?server=bank-0', token)
    assert.equal(answer.status, 200, await answer.clone().text())
    assert.ok(app.clients.names.includes('bank-0'))
    assert.equal((await app.clients.client('bank-0').grant(grantId).get())?.status, 'ended')
    assert.deepEqual(await (await browser.request('/logins')).json(), [])
    // Another bank's name does not make the token that bank's: its iss still picks, and is checked.
    await expectError(
      await post('?server=bank-1', await logoutToken(app.banks[2]!, 'portal', { sid: 'x' })),
      400,
      'ERR_LOGOUT_TOKEN_ISS_MISMATCH',
    )
  })

  test("banks resolved on demand: a grant at a bank evicted from the cache survives the same owner's login at another bank (the owner rule sees the evicted bank)", async (t) => {
    const app = await startOnDemand(t, 3, { maxServers: 2, principal: () => 'app-user-1' })
    const browser = app.browser()
    const linked = await browser.deliver(
      await app.banks[0]!.authorize(await startLogin(app, browser, 0)),
    )
    assert.equal(linked.status, 200, await linked.clone().text())
    await startLogin(app, browser, 1)
    const atTwo = await startLogin(app, browser, 2) // evicts bank-0
    assert.ok(!app.clients.names.includes('bank-0'))
    const landed = await browser.deliver(await app.banks[2]!.authorize(atTwo))
    assert.equal(landed.status, 200, await landed.clone().text())
    const logins = await browser.request('/logins')
    assert.deepEqual(await logins.json(), ['bank-0', 'bank-2'])
  })

  /** A session linked to bank-0 and bank-2 (one owner), bank-0 evicted since (maxServers 2). */
  async function linkedWithEvicted(t: TestContext, fail: (name: string) => boolean) {
    const app = await startOnDemand(t, 3, { maxServers: 2, principal: () => 'app-user-1' }, fail)
    const browser = app.browser()
    const linked = await browser.deliver(
      await app.banks[0]!.authorize(await startLogin(app, browser, 0)),
    )
    assert.equal(linked.status, 200, await linked.clone().text())
    const atTwo = await startLogin(app, browser, 2)
    assert.equal((await browser.deliver(await app.banks[2]!.authorize(atTwo))).status, 200)
    assert.deepEqual(await (await browser.request('/logins')).json(), ['bank-0', 'bank-2'])
    await startLogin(app, browser, 2)
    await startLogin(app, browser, 1) // evicts bank-0, the least recently used
    assert.deepEqual([...app.clients.names].sort(), ['bank-1', 'bank-2'], 'bank-0 is evicted')
    return { app, browser }
  }

  test('banks resolved on demand, RFC 7009 at logout: a grant of a bank evicted from the cache is ended and revoked, the bank created again', async (t) => {
    const { app, browser } = await linkedWithEvicted(t, () => false)
    assert.equal(app.banks[0]!.revocationRequests().length, 0)
    const out = await browser.request('/logout/bank-2', { method: 'POST' })
    assert.equal(out.status, 303, await out.clone().text())
    assert.ok(app.banks[0]!.revocationRequests().length > 0, "bank-0's tokens are revoked")
    assert.ok(app.banks[2]!.revocationRequests().length > 0, "and bank-2's")
    const bank0 = await app.clients.resolve('bank-0')
    const grants = await Promise.all(
      (await bank0.findGrants({ owner: 'app-user-1' })).map((id) => bank0.grant(id).get()),
    )
    assert.deepEqual(
      grants.filter((grant) => grant?.status === 'active' && grant.issuer === bank0.core.issuer),
      [],
      "bank-0's grant is not active in the grant store",
    )
  })

  test('banks resolved on demand, logout never reports success while a grant is usable: an evicted bank that cannot be created again is ERR_LOGOUT_INCOMPLETE, the session ended', async (t) => {
    let down = false
    const { app, browser } = await linkedWithEvicted(t, (name) => down && name === 'bank-0')
    down = true
    const out = await browser.request('/logout/bank-2', { method: 'POST' })
    const body = await out.clone().text()
    await expectError(out, 503, 'ERR_LOGOUT_INCOMPLETE')
    assert.match(body, /\\"bank-0\\"/, 'the message names the bank')
    assert.doesNotMatch(body, /secret detail/, "the resolver's error is withheld")
    assert.ok(app.banks[2]!.revocationRequests().length > 0, "bank-2's grant is ended")
    assert.equal(app.banks[0]!.revocationRequests().length, 0)
    assert.deepEqual(await (await browser.request('/logins')).json(), [], 'the session ended')
  })
})
