/**
 * `requiresAuth()` and `logout()`: page requests of anonymous users go to the login route with
 * `returnTo`, API requests get a 401 with a code; logout destroys the session and, when the server
 * has an `end_session_endpoint`, sends the browser there (OpenID Connect RP-Initiated Logout 1.0
 * §2), against a real oidc-provider and against metadata without that endpoint.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import connect from 'connect'
import express from 'express'
import session from 'express-session'
import {
  FapiConfigError,
  errorHandler,
  fapiClient,
  type FapiClientOptions,
  memoryGrantStore,
} from '../src/index.js'
import { AppBrowser, onlyMethods, readJson, sendJson, sessionOf } from './support/app.js'
import { plantGrant, type PlantedGrant } from './support/grants.js'
import { generateJwks, type KeyPairJwks } from './support/keys.js'
import { startProvider } from './support/provider.js'
import { UserAgent } from './support/user-agent.js'

const FRAMEWORKS = ['Express', 'Connect'] as const
type Framework = (typeof FRAMEWORKS)[number]

interface GuardedApp {
  readonly origin: string
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string
  readonly browser: AppBrowser
  /** The ID token of every login, as the callback handler saw it. */
  readonly idTokens: string[]
}

interface AppUrls {
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string
}

let key: Promise<KeyPairJwks> | undefined
function clientKey(): Promise<KeyPairJwks> {
  key ??= generateJwks('ES256', 'guards-key')
  return key
}

/** A grant as the test routes plant it, with the request body's fields over it; its id. */
function fakeLogin(resolved: FapiClientOptions, body: unknown): Promise<string> {
  const store = resolved.grants
  if (store === undefined) throw new Error('the guarded app has its own grant store')
  return plantGrant(store, {
    issuer: resolved.issuer,
    clientId: resolved.clientId,
    ...(body as Partial<PlantedGrant>),
  })
}

/** An app with a guarded /account, a logout route and, for tests, a route that fakes a login. */
async function startGuardedApp(
  t: TestContext,
  framework: Framework,
  options: (urls: AppUrls) => Promise<Partial<FapiClientOptions>> | Partial<FapiClientOptions>,
): Promise<GuardedApp> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const urls = { redirectUri: `${origin}/auth/callback`, postLogoutRedirectUri: `${origin}/bye` }
  const resolved: FapiClientOptions = {
    issuer: 'http://127.0.0.1:1',
    clientId: 'portal',
    redirectUri: urls.redirectUri,
    keys: { signing: [(await clientKey()).privateJwk] },
    allowInsecureLoopback: true,
    grants: memoryGrantStore(),
    ...(await options(urls)),
  }
  const client = fapiClient(resolved)
  const idTokens: string[] = []
  if (framework === 'Connect') {
    server.on('request', connectGuardedApp(client, resolved, idTokens))
  } else {
    const app = express()
    app.use(session({ secret: 'test-secret', resave: false, saveUninitialized: false }))
    app.get('/auth/login', client.login())
    app.all(
      '/auth/callback',
      client.callback((_req: express.Request, res: express.Response, result) => {
        idTokens.push(result.tokens.idToken)
        res.redirect(303, result.returnTo)
      }),
    )
    const account: express.RequestHandler = (req, res, next) => {
      client.currentLogin(req).then((login) => res.json({ sub: login?.claims.sub }), next)
    }
    app.get('/account', client.requiresAuth(), account)
    app.post('/account', client.requiresAuth(), account)
    app.post('/auth/logout', client.logout())
    app.post('/test/login', express.json(), (req, res, next) => {
      fakeLogin(resolved, req.body).then((grant) => {
        req.session.fapi = { grant }
        res.sendStatus(204)
      }, next)
    })
    app.use(errorHandler())
    server.on('request', app)
  }
  t.after(async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  })
  return { origin, ...urls, browser: new AppBrowser(origin), idTokens }
}

/** The same app on Connect 3, which routes by path prefix only. */
function connectGuardedApp(
  client: ReturnType<typeof fapiClient>,
  resolved: FapiClientOptions,
  idTokens: string[],
): connect.Server {
  const app = connect()
  app.use(
    session({
      secret: 'test-secret',
      resave: false,
      saveUninitialized: false,
    }) as unknown as connect.NextHandleFunction,
  )
  app.use('/auth/login', onlyMethods(['GET'], client.login()))
  app.use(
    '/auth/callback',
    client.callback((_req, res, result) => {
      idTokens.push(result.tokens.idToken)
      res.writeHead(303, { location: result.returnTo }).end()
    }),
  )
  const guard = client.requiresAuth()
  app.use(
    '/account',
    onlyMethods(['GET', 'POST'], (req, res, next) => {
      guard(req, res, (error) => {
        if (error !== undefined) return next(error)
        client
          .currentLogin(req)
          .then((login) => sendJson(res, 200, { sub: login?.claims.sub }), next)
      })
    }),
  )
  app.use('/auth/logout', onlyMethods(['POST'], client.logout()))
  app.use(
    '/test/login',
    onlyMethods(['POST'], (req, res, next) => {
      readJson(req)
        .then((body) => fakeLogin(resolved, body))
        .then((grant) => {
          sessionOf(req).fapi = { grant }
          res.writeHead(204).end()
        }, next)
    }),
  )
  app.use(errorHandler())
  return app
}

/** Metadata of a server that is enough for express-fapi, with or without end_session_endpoint. */
async function startMetadataServer(
  t: TestContext,
  withEndSession: boolean,
): Promise<{ issuer: string; requests(): number }> {
  let requests = 0
  const server = createServer((req, res) => {
    requests += 1
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    if (req.url !== '/.well-known/openid-configuration') {
      res.writeHead(404).end()
      return
    }
    const algs = ['ES256']
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        pushed_authorization_request_endpoint: `${issuer}/par`,
        ...(withEndSession ? { end_session_endpoint: `${issuer}/logout?tenant=1` } : {}),
        response_types_supported: ['code'],
        response_modes_supported: ['jwt', 'query.jwt'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        request_object_signing_alg_values_supported: algs,
        token_endpoint_auth_signing_alg_values_supported: algs,
        authorization_signing_alg_values_supported: algs,
        id_token_signing_alg_values_supported: algs,
        dpop_signing_alg_values_supported: algs,
      }),
    )
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  })
  return {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
  }
}

const PAGE = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }

async function expectLoginRequired(answer: Response): Promise<void> {
  assert.equal(answer.status, 401)
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/)
  assert.equal(answer.headers.get('cache-control'), 'no-store')
  assert.equal(((await answer.json()) as { error: string }).error, 'ERR_LOGIN_REQUIRED')
}

for (const framework of FRAMEWORKS) {
  describe(`requiresAuth() on ${framework}`, () => {
    test('RFC 9700 §4.11: a page request of an anonymous user goes to the login route with returnTo = the page', async (t) => {
      const app = await startGuardedApp(t, framework, () => ({}))
      const answer = await app.browser.request('/account?tab=2&x=%2F', { headers: PAGE })
      assert.equal(answer.status, 303)
      assert.equal(answer.headers.get('cache-control'), 'no-store')
      const location = new URL(answer.headers.get('location') ?? '', app.origin)
      assert.equal(location.pathname, '/auth/login')
      assert.deepEqual([...location.searchParams], [['returnTo', '/account?tab=2&x=%2F']])
    })

    test('loginPath moves the login route the guard sends to', async (t) => {
      const app = await startGuardedApp(t, framework, () => ({ loginPath: '/signin' }))
      const answer = await app.browser.request('/account', { headers: PAGE })
      assert.equal(answer.headers.get('location'), '/signin?returnTo=%2Faccount')
    })

    for (const [name, headers] of [
      ['Accept: application/json', { accept: 'application/json' }],
      ['X-Requested-With', { accept: '*/*', 'x-requested-with': 'XMLHttpRequest' }],
      ['Accept preferring JSON', { accept: 'text/html;q=0.5, application/json' }],
    ] as const) {
      test(`an API request (${name}) gets 401 ERR_LOGIN_REQUIRED as JSON`, async (t) => {
        const app = await startGuardedApp(t, framework, () => ({}))
        await expectLoginRequired(await app.browser.request('/account', { headers }))
      })
    }

    test('a page POST goes to the login route without returnTo (it would come back as a GET)', async (t) => {
      const app = await startGuardedApp(t, framework, () => ({}))
      const answer = await app.browser.request('/account', { method: 'POST', headers: PAGE })
      assert.equal(answer.status, 303)
      assert.equal(answer.headers.get('location'), '/auth/login')
    })

    test("a login of this client passes; another client's or another issuer's does not", async (t) => {
      const app = await startGuardedApp(t, framework, () => ({}))
      const json = { 'content-type': 'application/json' }
      await app.browser.request('/test/login', { method: 'POST', body: '{}', headers: json })
      const mine = await app.browser.request('/account')
      assert.equal(mine.status, 200)
      assert.deepEqual(await mine.json(), { sub: 'carol' })
      for (const other of [{ clientId: 'other' }, { issuer: 'http://127.0.0.1:2' }]) {
        const body = JSON.stringify(other)
        await app.browser.request('/test/login', { method: 'POST', body, headers: json })
        await expectLoginRequired(await app.browser.request('/account'))
      }
    })

    test('with a real server: the guard, the login with returnTo, then the page', async (t) => {
      const keys = await clientKey()
      let as: Awaited<ReturnType<typeof startProvider>> | undefined
      const app = await startGuardedApp(t, framework, async ({ redirectUri }) => {
        as = await startProvider({
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
        return { issuer: as.issuer }
      })
      t.after(() => as?.close())
      const guard = await app.browser.request('/account?tab=2', { headers: PAGE })
      const login = await app.browser.request(guard.headers.get('location') ?? '', {
        headers: PAGE,
      })
      assert.equal(login.status, 303)
      const delivery = await new UserAgent().authorize(login.headers.get('location') ?? '', {
        redirectUri: app.redirectUri,
      })
      const landed = await app.browser.deliver(delivery)
      assert.equal(landed.status, 303, await landed.clone().text())
      assert.equal(landed.headers.get('location'), '/account?tab=2')
      const page = await app.browser.request('/account?tab=2', { headers: PAGE })
      assert.equal(page.status, 200)
      assert.deepEqual(await page.json(), { sub: 'alice' })
    })
  })
}

for (const framework of FRAMEWORKS) {
  describe(`logout() on ${framework}`, () => {
    test('RP-Initiated Logout §2: to the end_session_endpoint with id_token_hint, client_id and post_logout_redirect_uri, which the real server accepts', async (t) => {
      const keys = await clientKey()
      let as: Awaited<ReturnType<typeof startProvider>> | undefined
      const app = await startGuardedApp(
        t,
        framework,
        async ({ redirectUri, postLogoutRedirectUri }) => {
          as = await startProvider({
            fapiProfile: '2.0',
            clients: [
              {
                clientId: 'portal',
                redirectUri,
                postLogoutRedirectUri,
                jwks: { keys: [keys.publicJwk] },
                profile: 'fapi2-message-signing',
                signingAlg: 'ES256',
              },
            ],
          })
          return { issuer: as.issuer, postLogoutRedirectUri }
        },
      )
      t.after(() => as?.close())
      const agent = new UserAgent()
      const delivery = await agent.authorize(await app.browser.startLogin(), {
        redirectUri: app.redirectUri,
      })
      assert.equal((await app.browser.deliver(delivery)).status, 303)
      assert.equal((await app.browser.request('/account')).status, 200)

      const logout = await app.browser.request('/auth/logout', { method: 'POST', headers: PAGE })
      assert.equal(logout.status, 303)
      assert.equal(logout.headers.get('cache-control'), 'no-store')
      const location = new URL(logout.headers.get('location') ?? '')
      assert.equal(`${location.origin}${location.pathname}`, `${as?.issuer}/session/end`)
      assert.deepEqual(Object.fromEntries(location.searchParams), {
        id_token_hint: app.idTokens[0],
        client_id: 'portal',
        post_logout_redirect_uri: app.postLogoutRedirectUri,
      })
      // The local session is gone.
      await expectLoginRequired(await app.browser.request('/account'))
      // The server signs the user out and comes back to the registered URI.
      const back = await agent.logout(location.href, {
        postLogoutRedirectUri: app.postLogoutRedirectUri,
      })
      assert.ok(back.startsWith(app.postLogoutRedirectUri), back)
    })

    test('without an end_session_endpoint: the local session is destroyed, then postLogoutRedirectUri', async (t) => {
      const metadata = await startMetadataServer(t, false)
      const app = await startGuardedApp(t, framework, ({ postLogoutRedirectUri }) => ({
        issuer: metadata.issuer,
        postLogoutRedirectUri,
      }))
      await app.browser.request('/test/login', { method: 'POST' })
      assert.equal((await app.browser.request('/account')).status, 200)
      const logout = await app.browser.request('/auth/logout', { method: 'POST', headers: PAGE })
      assert.equal(logout.status, 303)
      assert.equal(logout.headers.get('location'), app.postLogoutRedirectUri)
      assert.equal(metadata.requests(), 1)
      await expectLoginRequired(await app.browser.request('/account'))
    })

    test('without postLogoutRedirectUri: no post_logout_redirect_uri is sent, and a local logout goes to /', async (t) => {
      const withEndSession = await startMetadataServer(t, true)
      const app = await startGuardedApp(t, framework, () => ({ issuer: withEndSession.issuer }))
      await app.browser.request('/test/login', { method: 'POST' })
      const logout = await app.browser.request('/auth/logout', { method: 'POST', headers: PAGE })
      const location = new URL(logout.headers.get('location') ?? '')
      assert.equal(`${location.origin}${location.pathname}`, `${withEndSession.issuer}/logout`)
      assert.deepEqual(Object.fromEntries(location.searchParams), {
        tenant: '1',
        id_token_hint: 'fake.id.token',
        client_id: 'portal',
      })

      const without = await startMetadataServer(t, false)
      const local = await startGuardedApp(t, framework, () => ({ issuer: without.issuer }))
      await local.browser.request('/test/login', { method: 'POST' })
      const answer = await local.browser.request('/auth/logout', { method: 'POST', headers: PAGE })
      assert.equal(answer.headers.get('location'), '/')
    })

    test('the server unreachable: the local logout still happens', async (t) => {
      const app = await startGuardedApp(t, framework, ({ postLogoutRedirectUri }) => ({
        issuer: 'http://127.0.0.1:1',
        postLogoutRedirectUri,
        httpTimeout: 2000,
      }))
      await app.browser.request('/test/login', { method: 'POST' })
      const logout = await app.browser.request('/auth/logout', { method: 'POST', headers: PAGE })
      assert.equal(logout.status, 303)
      assert.equal(logout.headers.get('location'), app.postLogoutRedirectUri)
      await expectLoginRequired(await app.browser.request('/account'))
    })

    test('nobody logged in: straight to postLogoutRedirectUri, without asking the server', async (t) => {
      const metadata = await startMetadataServer(t, true)
      const app = await startGuardedApp(t, framework, ({ postLogoutRedirectUri }) => ({
        issuer: metadata.issuer,
        postLogoutRedirectUri,
      }))
      const logout = await app.browser.request('/auth/logout', { method: 'POST', headers: PAGE })
      assert.equal(logout.headers.get('location'), app.postLogoutRedirectUri)
      assert.equal(metadata.requests(), 0)
    })
  })
}

describe('options of the guard and the logout', () => {
  async function options(extra: Partial<FapiClientOptions>): Promise<FapiClientOptions> {
    return {
      issuer: 'https://as.example.com',
      clientId: 'portal',
      redirectUri: 'https://app.example.com/cb',
      keys: { signing: [(await clientKey()).privateJwk] },
      ...extra,
    }
  }

  function rejects(given: FapiClientOptions, option: string): void {
    assert.throws(
      () => fapiClient(given),
      (error: unknown) =>
        error instanceof FapiConfigError &&
        error.code === 'ERR_INVALID_CONFIG' &&
        error.message.includes(`"${option}"`),
    )
  }

  test('postLogoutRedirectUri must be an absolute https URL (http on loopback in development)', async () => {
    for (const bad of [
      'http://app.example.com/',
      'javascript:alert(1)',
      '/bye',
      'https://app.example.com/#x',
      'https://user:pw@app.example.com/',
    ]) {
      rejects(await options({ postLogoutRedirectUri: bad }), 'postLogoutRedirectUri')
    }
    rejects(
      await options({ postLogoutRedirectUri: 'http://localhost:3000/' }),
      'postLogoutRedirectUri',
    )
    fapiClient(await options({ postLogoutRedirectUri: 'https://app.example.com/' }))
    fapiClient(
      await options({
        postLogoutRedirectUri: 'http://localhost:3000/',
        allowInsecureLoopback: true,
      }),
    )
  })

  test('loginPath must be a path on this site without query or fragment', async () => {
    for (const bad of ['auth/login', '//evil.example/login', '/\\evil.example', '/login?x=1', '']) {
      rejects(await options({ loginPath: bad }), 'loginPath')
    }
    fapiClient(await options({ loginPath: '/signin' }))
  })

  test('fragment.jwt is a response mode', async () => {
    fapiClient(await options({ responseMode: 'fragment.jwt' }))
  })
})
