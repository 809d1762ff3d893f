/**
 * One hostile authorization server plus one real Express app with express-fapi, wired together for
 * a test, and the assertions every negative test makes: the status and error code, no token
 * request after a bad authorization response, no login, no session, no unexpected error, and a
 * consumed transaction after a failure past the token request.
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { Store } from 'express-session'
import type { Express } from 'express'
import type { FapiClient, FapiClientOptions, FapiErrorCode } from '../../src/index.js'
import { AppBrowser, startApp, type ExpressVersion, type StartedApp } from './app.js'
import type { ServerAlg } from './hostile-jwt.js'
import {
  startHostileServer,
  type Authorized,
  type Delivery,
  type HostileServer,
  type JwtMutation,
} from './hostile-server.js'
import { testCertificates } from './certs.js'
import { generateJwks, type KeyPairJwks } from './keys.js'
import { StaleWrites, type StaleHold } from './stale-writes.js'

export const CLIENT_ID = 'portal'

export interface SetupOptions {
  readonly express?: ExpressVersion
  /** The server's signing algorithm. Default PS256. */
  readonly alg?: ServerAlg
  /** The client's key type. Default ES256 (fast). */
  readonly clientAlg?: 'PS256' | 'ES256'
  /** Client options beside the wiring ones. */
  readonly client?: Partial<FapiClientOptions>
  /** One clock for the server and the client, in milliseconds. */
  readonly now?: () => number
  /** A redirect URI path other than the app's callback route, `/auth/callback`. */
  readonly redirectPath?: string
  /** A session store to share with another app instance. */
  readonly store?: Store
  /** A coordination store (e.g. one shared with another app instance). */
  readonly coordination?: FapiClientOptions['coordination']
  /**
   * The server on https with an mTLS alias server; the client trusts its CA and presents the
   * `client` (CA-issued) or `self-signed` certificate, or none.
   */
  readonly tls?: 'client' | 'self-signed' | 'none'
  /** More Express routes, mounted after the fixture's own. */
  readonly routes?: (app: Express, client: FapiClient) => void
}

export interface Fixture {
  readonly as: HostileServer
  readonly app: StartedApp
  readonly browser: AppBrowser
  readonly clientKey: KeyPairJwks
  newBrowser(): AppBrowser
}

const clientKeys = new Map<string, Promise<KeyPairJwks>>()

/** The client's key pair, one per algorithm per run. */
export function clientKey(alg: 'PS256' | 'ES256'): Promise<KeyPairJwks> {
  let key = clientKeys.get(alg)
  if (key === undefined) {
    key = generateJwks(alg, `client-${alg}`)
    clientKeys.set(alg, key)
  }
  return key
}

/**
 * `GET /resource?url=…&init=<JSON>`: the app calls `fetchResource(req, url, init)` and answers
 * `{ status, body }` with what the resource server said; failures go to the error handler.
 */
function resourceRoute(router: Express, client: FapiClient): void {
  router.get('/resource', (req, res, next) => {
    const init = typeof req.query.init === 'string' ? (JSON.parse(req.query.init) as object) : {}
    client
      .fetchResource(req, String(req.query.url), init)
      .then(async (answer) => res.json({ status: answer.status, body: await answer.text() }))
      .catch(next)
  })
  // `GET /userinfo-claims`: the app calls `userinfo(req)` and answers with the claims.
  router.get('/userinfo-claims', (req, res, next) => {
    client.userinfo(req).then((claims) => res.json(claims), next)
  })
  // `POST /refresh`: the app calls `refresh(req)` and answers with what it resolved to.
  router.post('/refresh', (req, res, next) => {
    client.refresh(req).then((result) => res.json(result), next)
  })
  // `GET /stored`: the login in the session, as stored (a test's view; never in a real app).
  router.get('/stored', (req, res, next) => {
    client.currentLogin(req).then((login) => res.json(login ?? null), next)
  })
  router.post('/auth/logout', client.logout())
  // `POST /stale-write`: an app request saving back the session copy it read (see StaleWrites).
  router.post('/stale-write', staleWrites.route)
}

const staleWrites = new StaleWrites()

/** Holds `POST /stale-write` requests until released (see {@link StaleWrites.hold}). */
export function holdStaleWrites(): StaleHold {
  return staleWrites.hold()
}

/** Starts a server and an app for one test; both are closed after it. */
export async function setup(t: TestContext, options: SetupOptions = {}): Promise<Fixture> {
  const key = await clientKey(options.clientAlg ?? 'ES256')
  const certificates = options.tls === undefined ? undefined : await testCertificates()
  const certificate =
    options.tls === 'client'
      ? certificates?.client
      : options.tls === 'self-signed'
        ? certificates?.selfSigned
        : undefined
  const as = await startHostileServer({
    clientId: CLIENT_ID,
    clientJwks: { keys: [key.publicJwk] },
    alg: options.alg ?? 'PS256',
    ...(options.now ? { now: options.now } : {}),
    ...(certificates ? { tls: certificates } : {}),
  })
  const app = await startApp({
    // The resource routes are Express routes; the Connect app runs the protocol tests.
    ...(options.express === 'connect'
      ? {}
      : {
          routes: (router: Express, client: FapiClient) => {
            resourceRoute(router, client)
            options.routes?.(router, client)
          },
        }),
    express: options.express ?? 5,
    ...(options.store ? { store: options.store } : {}),
    client: ({ origin, redirectUri }) => ({
      issuer: as.issuer,
      clientId: CLIENT_ID,
      redirectUri:
        options.redirectPath === undefined ? redirectUri : `${origin}${options.redirectPath}`,
      keys: { signing: [key.privateJwk] },
      allowInsecureLoopback: true,
      // The hostile server issues unbound tokens unless a test asks for DPoP or mTLS.
      senderConstraint: 'none',
      ...(certificates
        ? {
            tls: {
              ca: certificates.serverCa,
              ...(certificate ? { cert: certificate.cert, key: certificate.key } : {}),
            },
          }
        : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.coordination ? { coordination: options.coordination } : {}),
      ...options.client,
    }),
  })
  t.after(async () => {
    await app.close()
    await as.close()
  })
  return {
    as,
    app,
    browser: new AppBrowser(app.origin),
    clientKey: key,
    newBrowser: () => new AppBrowser(app.origin),
  }
}

/** Starts a login in the browser and lets the server answer it. */
export async function login(
  fx: Fixture,
  mutation?: JwtMutation,
  browser: AppBrowser = fx.browser,
): Promise<Authorized> {
  return fx.as.authorize(await browser.startLogin(), mutation)
}

/** The response is a JSON error with this status and code. */
export async function expectError(
  response: Response,
  status: number,
  code: FapiErrorCode,
): Promise<void> {
  const text = await response.text()
  assert.equal(response.status, status, `status ${response.status}: ${text.slice(0, 300)}`)
  const body = JSON.parse(text) as { error?: unknown }
  assert.equal(body.error, code, text.slice(0, 300))
}

async function expectNoLogin(fx: Fixture, browser: AppBrowser): Promise<void> {
  assert.equal(fx.app.logins.length, 0, 'the login handler must not be called')
  assert.equal((await browser.request('/me')).status, 401, 'no session login')
  assert.deepEqual(fx.app.unexpectedErrors, [])
}

/**
 * A bad authorization response: rejected with this status and code, and no token request, no
 * login, no session, no unexpected error.
 */
export async function expectRejected(
  fx: Fixture,
  delivery: Delivery,
  status: number,
  code: FapiErrorCode,
  browser: AppBrowser = fx.browser,
): Promise<void> {
  await expectError(await browser.deliver(delivery), status, code)
  assert.equal(fx.as.requests('/token'), 0, 'no token request after a bad authorization response')
  await expectNoLogin(fx, browser)
}

/**
 * A failure after the transaction was taken (token or ID token): this status and code, no login,
 * no session, and the transaction consumed: the same response again is ERR_TRANSACTION_NOT_FOUND
 * and makes no other token request.
 */
export async function expectRejectedAfterTransaction(
  fx: Fixture,
  delivery: Delivery,
  status: number,
  code: FapiErrorCode,
): Promise<void> {
  await expectError(await fx.browser.deliver(delivery), status, code)
  await expectNoLogin(fx, fx.browser)
  const tokenRequests = fx.as.requests('/token')
  await expectError(await fx.browser.deliver(delivery), 400, 'ERR_TRANSACTION_NOT_FOUND')
  assert.equal(fx.as.requests('/token'), tokenRequests, 'no token request for a replay')
  await expectNoLogin(fx, fx.browser)
}

/** A good response: the handler ran once more and the session holds the user. */
export async function expectLogin(
  fx: Fixture,
  delivery: Delivery,
  browser: AppBrowser = fx.browser,
): Promise<{ sub: string; returnTo: string }> {
  const before = fx.app.logins.length
  const response = await browser.deliver(delivery)
  const text = await response.text()
  assert.equal(response.status, 200, text.slice(0, 300))
  assert.equal(fx.app.logins.length, before + 1)
  const me = await browser.request('/me')
  assert.equal(me.status, 200)
  assert.deepEqual(fx.app.unexpectedErrors, [])
  assert.deepEqual(fx.as.violations(), [])
  return JSON.parse(text) as { sub: string; returnTo: string }
}
