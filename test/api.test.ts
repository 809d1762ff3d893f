/**
 * The app-facing API: `router()` in Express 5, Express 4 and Connect; the `beforeSession` hook
 * (a refusal leaves no session and no `onLogin` call; trimmed claims); the accessors
 * `currentLogin()` and `isAuthenticated()`; `requiresAuth({ claims, acr })` (403 with a code, not a
 * login loop); and two clients in one app, each in its own session namespace.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import connect from 'connect'
import express5 from 'express'
import express4 from 'express4'
import session from 'express-session'
import {
  errorHandler,
  fapiClient,
  FapiConfigError,
  type CallbackOptions,
  type FapiClient,
  type LoginResult,
} from '../src/index.js'
import { AppBrowser, frameworkName, type ExpressVersion } from './support/app.js'
import { CLIENT_ID, clientKey, expectError } from './support/hostile-fixture.js'
import { startHostileServer, type HostileServer } from './support/hostile-server.js'

interface Bank {
  readonly name: string
  readonly as: HostileServer
  readonly client: FapiClient
}

interface ApiApp {
  readonly origin: string
  readonly browser: AppBrowser
  readonly banks: readonly Bank[]
  readonly logins: LoginResult[]
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.end(JSON.stringify(value))
}

/**
 * An app with one client per bank name, each mounted with `router()` under `/auth/<name>/…` and
 * its own session key; `/me/<name>` answers the bank's `currentLogin()`, `/vip/<name>` is behind
 * `requiresAuth({ claims })`, `/strong/<name>` behind `requiresAuth({ acr })`.
 */
async function startApiApp(
  t: TestContext,
  names: readonly string[],
  hooks: (logins: LoginResult[]) => CallbackOptions = (logins) => ({
    onLogin: (_req, res, result) => {
      logins.push(result)
      json(res, 200, { sub: result.claims.sub })
    },
  }),
  framework: ExpressVersion = 5,
): Promise<ApiApp> {
  const key = await clientKey('ES256')
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const banks: Bank[] = []
  for (const name of names) {
    const as = await startHostileServer({
      clientId: CLIENT_ID,
      clientJwks: { keys: [key.publicJwk] },
      alg: 'ES256',
    })
    const client = fapiClient({
      issuer: as.issuer,
      clientId: CLIENT_ID,
      redirectUri: `${origin}/auth/${name}/callback`,
      loginPath: `/auth/${name}/login`,
      keys: { signing: [key.privateJwk] },
      senderConstraint: 'none',
      allowInsecureLoopback: true,
      sessionKey: name,
    })
    banks.push({ name, as, client })
  }
  t.after(async () => {
    server.closeAllConnections()
    server.close()
    await Promise.all(banks.map(({ as }) => as.close()))
  })
  const logins: LoginResult[] = []
  const sessions = session({ secret: 'test-secret', resave: false, saveUninitialized: false })
  type Handler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void
  const routes: [string, Handler][] = []
  for (const { name, client } of banks) {
    routes.push([
      `/me/${name}`,
      (req, res, next) => {
        Promise.all([client.currentLogin(req), client.isAuthenticated(req)]).then(
          ([login, authenticated]) =>
            json(res, login === undefined ? 401 : 200, {
              sub: login?.claims.sub,
              email: login?.claims.email,
              authenticated,
            }),
          next,
        )
      },
    ])
    const vip = client.requiresAuth({ claims: (claims) => claims.sub === 'vip' })
    routes.push([
      `/vip/${name}`,
      (req, res, next) =>
        vip(req, res, (err?: unknown) => (err === undefined ? json(res, 200, {}) : next(err))),
    ])
    const strong = client.requiresAuth({ acr: ['urn:loa:3'] })
    routes.push([
      `/strong/${name}`,
      (req, res, next) =>
        strong(req, res, (err?: unknown) => (err === undefined ? json(res, 200, {}) : next(err))),
    ])
  }
  const handlers: Handler[] = [
    sessions as unknown as Handler,
    ...banks.map(({ name, client }) =>
      client.router(
        { logout: `/auth/${name}/logout`, jwks: `/auth/${name}/jwks` },
        {
          callback: hooks(logins),
        },
      ),
    ),
  ]
  if (framework === 'connect') {
    const app = connect()
    for (const handler of handlers) app.use(handler)
    for (const [path, handler] of routes) app.use(path, handler)
    app.use(errorHandler())
    server.on('request', app)
  } else {
    const app = framework === 4 ? express4() : express5()
    for (const handler of handlers) app.use(handler)
    for (const [path, handler] of routes) app.get(path, handler)
    app.use(errorHandler())
    server.on('request', app)
  }
  return { origin, browser: new AppBrowser(origin), banks, logins }
}

/** Logs the browser in at one bank through its router's routes. */
async function logIn(app: ApiApp, bank: Bank, claims?: Record<string, unknown>): Promise<Response> {
  const started = await app.browser.request(`/auth/${bank.name}/login`)
  assert.equal(started.status, 303, await started.clone().text())
  if (claims !== undefined) bank.as.idToken = { claims: (c) => ({ ...c, ...claims }) }
  const delivery = await bank.as.authorize(started.headers.get('location') ?? '')
  return app.browser.deliver(delivery)
}

describe('router(): one call mounts login, callback, logout and JWKS', () => {
  for (const framework of [5, 4, 'connect'] as const) {
    test(`router() in ${frameworkName(framework)}: login, callback, JWKS and logout at their paths`, async (t) => {
      const app = await startApiApp(t, ['bank'], undefined, framework)
      const [bank] = app.banks as [Bank]
      const jwks = await app.browser.request('/auth/bank/jwks')
      assert.equal(jwks.status, 200)
      assert.equal(((await jwks.json()) as { keys: unknown[] }).keys.length, 1)
      assert.equal(
        (await app.browser.request('/auth/bank/logout')).status,
        404,
        'GET logout is not mounted',
      )
      const done = await logIn(app, bank)
      assert.equal(done.status, 200, await done.clone().text())
      assert.equal((await app.browser.request('/me/bank')).status, 200)
      const out = await app.browser.request('/auth/bank/logout', { method: 'POST' })
      assert.equal(out.status, 303)
      assert.equal((await app.browser.request('/me/bank')).status, 401)
    })
  }

  test('router(): a login or callback path other than the configuration is a startup error', async (t) => {
    const app = await startApiApp(t, ['bank'])
    const [bank] = app.banks as [Bank]
    assert.throws(() => bank.client.router({ login: '/elsewhere' }), FapiConfigError)
    assert.throws(() => bank.client.router({ callback: '/elsewhere' }), FapiConfigError)
    assert.throws(() => bank.client.router({ jwks: '/auth/bank/login' }), FapiConfigError)
  })
})

describe('callback({ beforeSession }): the app decides before the session exists', () => {
  test('beforeSession: a refusal is ERR_LOGIN_REFUSED (403), with no session and no onLogin call', async (t) => {
    const seen: string[] = []
    const app = await startApiApp(t, ['bank'], (logins) => ({
      beforeSession: (_req, login) => {
        seen.push(String(login.claims.sub))
        return { refuse: 'this portal is for employees only' }
      },
      onLogin: (_req, res, result) => {
        logins.push(result)
        res.end()
      },
    }))
    const [bank] = app.banks as [Bank]
    const answer = await logIn(app, bank)
    await expectError(answer, 403, 'ERR_LOGIN_REFUSED')
    assert.deepEqual(seen, ['user-1'], 'beforeSession ran after every check')
    assert.equal(app.logins.length, 0, 'no onLogin call')
    assert.equal((await app.browser.request('/me/bank')).status, 401, 'no session login')
  })

  test('beforeSession: returning false refuses too', async (t) => {
    const app = await startApiApp(t, ['bank'], () => ({ beforeSession: () => false }))
    await expectError(await logIn(app, app.banks[0] as Bank), 403, 'ERR_LOGIN_REFUSED')
    assert.equal((await app.browser.request('/me/bank')).status, 401)
  })

  test('beforeSession: trimmed claims are what the session keeps (protocol claims always)', async (t) => {
    const app = await startApiApp(t, ['bank'], (logins) => ({
      beforeSession: () => ({ claims: { name: true } }),
      onLogin: (_req, res, result) => {
        logins.push(result)
        res.end()
      },
    }))
    const [bank] = app.banks as [Bank]
    const answer = await logIn(app, bank, { email: 'user@example.test', name: 'User' })
    assert.equal(answer.status, 200)
    assert.equal(app.logins[0]?.claims.email, undefined)
    const me = (await (await app.browser.request('/me/bank')).json()) as Record<string, unknown>
    assert.equal(me.sub, 'user-1')
    assert.equal(me.email, undefined)
  })
})

describe('requiresAuth({ claims, acr }): a logged-in user who does not qualify gets 403, not a login loop', () => {
  test('requiresAuth({ claims }): a failed claim predicate is ERR_CLAIMS_CHECK_FAILED (403)', async (t) => {
    const app = await startApiApp(t, ['bank'])
    await logIn(app, app.banks[0] as Bank)
    await expectError(await app.browser.request('/vip/bank'), 403, 'ERR_CLAIMS_CHECK_FAILED')
  })

  test('requiresAuth({ claims }): a passing claim predicate lets the request through', async (t) => {
    const app = await startApiApp(t, ['bank'])
    await logIn(app, app.banks[0] as Bank, { sub: 'vip' })
    assert.equal((await app.browser.request('/vip/bank')).status, 200)
  })

  test('requiresAuth({ acr }), FAPI 1.0 Adv §5.2.3 (3): an acr not listed is ERR_ACR_INSUFFICIENT (403)', async (t) => {
    const app = await startApiApp(t, ['bank'])
    const [bank] = app.banks as [Bank]
    await logIn(app, bank, { acr: 'urn:loa:1' })
    await expectError(await app.browser.request('/strong/bank'), 403, 'ERR_ACR_INSUFFICIENT')
  })

  test('requiresAuth({ acr }): an anonymous API request is still 401 ERR_LOGIN_REQUIRED', async (t) => {
    const app = await startApiApp(t, ['bank'])
    const answer = await app.browser.request('/strong/bank')
    assert.equal(answer.status, 401)
  })
})

describe('RFC 9700 §4.4: two clients in one app keep separate logins', () => {
  test("two clients, one app: each login lives in its own session namespace; the other's pending login survives it, the other's grant of another owner does not", async (t) => {
    const app = await startApiApp(t, ['alpha', 'beta'])
    const [alpha, beta] = app.banks as [Bank, Bank]
    assert.equal((await logIn(app, alpha, { sub: 'alice-at-alpha' })).status, 200)
    // A pending login at alpha (another tab) while the user logs in at beta.
    const pending = await app.browser.request('/auth/alpha/login')
    assert.equal(pending.status, 303)
    alpha.as.idToken = { claims: (c) => ({ ...c, sub: 'alice-at-alpha' }) }
    const delivery = await alpha.as.authorize(pending.headers.get('location') ?? '')
    assert.equal((await logIn(app, beta, { sub: 'alice-at-beta' })).status, 200)
    const b = (await (await app.browser.request('/me/beta')).json()) as { sub: string }
    assert.equal(b.sub, 'alice-at-beta')
    // Each client is its own identity server: beta's login is another owner, a fresh session.
    assert.equal((await app.browser.request('/me/alpha')).status, 401)
    // alpha's pending login survived beta's login in its own namespace, and completes.
    assert.equal((await app.browser.deliver(delivery)).status, 200)
    const a = (await (await app.browser.request('/me/alpha')).json()) as { sub: string }
    assert.equal(a.sub, 'alice-at-alpha', "alpha's namespace holds alpha's login")
    assert.equal((await app.browser.request('/me/beta')).status, 401)
  })

  test("two clients, one app: one client's response cannot complete at the other's callback", async (t) => {
    const app = await startApiApp(t, ['alpha', 'beta'])
    const [alpha] = app.banks as [Bank, Bank]
    const started = await app.browser.request('/auth/alpha/login')
    const delivery = await alpha.as.authorize(started.headers.get('location') ?? '')
    const misrouted = { ...delivery, url: delivery.url.replace('/auth/alpha/', '/auth/beta/') }
    const answer = await app.browser.deliver(misrouted)
    assert.equal(answer.status >= 400, true)
    assert.equal((await app.browser.request('/me/alpha')).status, 401)
    assert.equal((await app.browser.request('/me/beta')).status, 401)
  })
})
