/**
 * One real Express 5 app with `fapiClients()` and two hostile servers as banks A and B (one
 * callback), for the grant tests: `/logins` (the session's grants by bank), `/refresh/:bank`,
 * `/resource/:bank?url=`, `/unlink/:bank` (POST), `/auth/logout` (POST, bank A's logout),
 * `/app-login/:user` (POST, the app's own sign-in: an `app_user` cookie), `/stale-write` (an app request that saves the session copy it read, once released), and the
 * back-channel logout route of `router()`. With `framework: 'connect'`, a Connect 3 app with the
 * router alone; with `paths: 'separate'`, each bank's callback at its own path
 * (`/auth/callback/<bank>`).
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import connect from 'connect'
import express from 'express'
import session from 'express-session'
import {
  errorHandler,
  fapiClients,
  type FapiClientOptions,
  type FapiClients,
  type FapiClientsOptions,
} from '../../src/index.js'
import { AppBrowser } from './app.js'
import { startHostileServer, type HostileServer } from './hostile-server.js'
import { generateJwks } from './keys.js'
import { StaleWrites, type StaleHold } from './stale-writes.js'

export type BankName = 'bank-a' | 'bank-b'

export interface TwoBanks {
  readonly origin: string
  readonly banks: Readonly<Record<BankName, HostileServer>>
  readonly clients: FapiClients
  readonly browser: AppBrowser
  readonly unexpectedErrors: unknown[]
  /** Holds `POST /stale-write` until released (see {@link StaleWrites.hold}). */
  holdStaleWrites(): StaleHold
  /** A new browser profile (another user) of the same app. */
  newBrowser(): AppBrowser
  /** The `server` of each login result the callback handler was given, in order. */
  readonly completed: (string | undefined)[]
  /** Each bank's redirect URI. */
  readonly redirectUris: Readonly<Record<BankName, string>>
}

export interface TwoBanksOptions {
  /** Options of both clients (a shared grant store, a coordination store, `sessionSecrets`). */
  readonly client?: Partial<FapiClientOptions>
  /** The second argument of `fapiClients()` (default: bank A is the identity server). */
  readonly clients?: FapiClientsOptions
  /** An express-session store (to share one between two apps). */
  readonly store?: session.Store
  /**
   * `connect`: a Connect app instead, with `/logins`, `/unlink/:bank` (POST), `/auth/logout`
   * (POST) and `router()`'s routes only.
   */
  readonly framework?: 'express' | 'connect'
  /** One callback path for both banks (default), or one per bank. */
  readonly paths?: 'shared' | 'separate'
}

type NodeHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** The Connect app of {@link startTwoBanks}: the same routes, written for Connect. */
function connectApp(
  clients: FapiClients,
  sessions: ReturnType<typeof session>,
  unexpectedErrors: unknown[],
  completed: (string | undefined)[],
): ReturnType<typeof connect> {
  const app = connect()
  const post =
    (handler: NodeHandler): NodeHandler =>
    (req, res, next) => {
      if (req.method === 'POST') handler(req, res, next)
      else next()
    }
  app.use(sessions as unknown as NodeHandler)
  app.use(
    clients.router({
      callback: (_req, res, login) => {
        completed.push(login.server)
        sendJson(res, 200, { ok: true, server: login.server })
      },
    }),
  )
  app.use('/logins', (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
    clients
      .currentLogins(req)
      .then(
        (logins) =>
          sendJson(
            res,
            200,
            Object.fromEntries(
              Object.entries(logins).map(([name, login]) => [name, login.claims.sub]),
            ),
          ),
        next,
      )
  })
  app.use(
    '/unlink',
    post((req, res, next) => {
      const bank = (req.url ?? '').slice(1)
      clients.unlink(req, bank).then((outcome) => sendJson(res, 200, { outcome }), next)
    }),
  )
  app.use('/auth/logout', post(clients.client('bank-a').logout() as NodeHandler))
  app.use(errorHandler())
  app.use((err: unknown, _req: IncomingMessage, res: ServerResponse, _next: unknown) => {
    void _next
    unexpectedErrors.push(err)
    sendJson(res, 500, { error: 'unexpected' })
  })
  return app
}

/**
 * The clients' `router()`, its callback answering JSON with the server the login finished at
 * and recording that server in `completed`.
 */
export function recordingRouter(clients: FapiClients, completed: (string | undefined)[]) {
  return clients.router<express.Request, express.Response>({
    callback: (_req, res, login) => {
      completed.push(login.server)
      res.json({ ok: true, server: login.server })
    },
  })
}

export async function startTwoBanks(
  t: TestContext,
  options: TwoBanksOptions = {},
): Promise<TwoBanks> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const key = await generateJwks('ES256', 'two-banks')
  const start = () =>
    startHostileServer({ clientId: 'portal', clientJwks: { keys: [key.publicJwk] }, alg: 'ES256' })
  const [bankA, bankB] = await Promise.all([start(), start()])
  // The run's server keys are shared by every hostile server: bank B signs with its own.
  await bankB.rotate()
  const redirectUris: Record<BankName, string> = {
    'bank-a': `${origin}/auth/callback${options.paths === 'separate' ? '/bank-a' : ''}`,
    'bank-b': `${origin}/auth/callback${options.paths === 'separate' ? '/bank-b' : ''}`,
  }
  const common = (issuer: string, bank: BankName): FapiClientOptions => ({
    issuer,
    clientId: 'portal',
    redirectUri: redirectUris[bank],
    keys: { signing: [key.privateJwk] },
    senderConstraint: 'none',
    allowInsecureLoopback: true,
    ...options.client,
  })
  const clients = fapiClients(
    { 'bank-a': common(bankA.issuer, 'bank-a'), 'bank-b': common(bankB.issuer, 'bank-b') },
    options.clients ?? { identity: 'bank-a' },
  )
  const staleWrites = new StaleWrites()
  const unexpectedErrors: unknown[] = []
  const completed: (string | undefined)[] = []
  const sessions = session({
    secret: 'test-secret',
    resave: false,
    saveUninitialized: false,
    ...(options.store === undefined ? {} : { store: options.store }),
  })
  const app = express()
  app.use(sessions)
  app.use(recordingRouter(clients, completed))
  app.get('/logins', (req, res, next) => {
    clients
      .currentLogins(req)
      .then(
        (logins) =>
          res.json(
            Object.fromEntries(
              Object.entries(logins).map(([name, login]) => [name, login.claims.sub]),
            ),
          ),
        next,
      )
  })
  app.post('/refresh/:bank', (req, res, next) => {
    clients
      .client(req.params.bank)
      .refresh(req)
      .then((result) => res.json(result), next)
  })
  app.get('/resource/:bank', (req, res, next) => {
    clients
      .client(req.params.bank)
      .fetchResource(req, String(req.query.url))
      .then((answer) => res.json({ status: answer.status }), next)
  })
  app.post('/unlink/:bank', (req, res, next) => {
    clients.unlink(req, req.params.bank).then((outcome) => res.json({ outcome }), next)
  })
  app.post('/auth/logout', clients.client('bank-a').logout())
  // The app's own sign-in, for a `principal(req)` reading the `app_user` cookie.
  app.post('/app-login/:user', (req, res) => {
    res.setHeader('Set-Cookie', `app_user=${encodeURIComponent(req.params.user)}; Path=/`)
    res.status(204).end()
  })
  app.post('/stale-write', staleWrites.route)
  app.use(errorHandler())
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      void _next
      unexpectedErrors.push(err)
      res.status(500).json({ error: 'unexpected' })
    },
  )
  server.on(
    'request',
    options.framework === 'connect'
      ? connectApp(clients, sessions, unexpectedErrors, completed)
      : app,
  )
  t.after(async () => {
    server.closeAllConnections()
    server.close()
    await Promise.all([bankA.close(), bankB.close()])
  })
  return {
    origin,
    banks: { 'bank-a': bankA, 'bank-b': bankB },
    clients,
    browser: new AppBrowser(origin),
    unexpectedErrors,
    holdStaleWrites: () => staleWrites.hold(),
    newBrowser: () => new AppBrowser(origin),
    completed,
    redirectUris,
  }
}

/** Logs `browser` in at `bank` (with these ID token claims over the server's). */
export async function linkBank(
  app: TwoBanks,
  bank: BankName,
  claims: Record<string, unknown> = {},
  browser: AppBrowser = app.browser,
): Promise<Response> {
  const started = await browser.request(`/auth/login?server=${bank}`)
  assert.equal(started.status, 303, await started.clone().text())
  const as = app.banks[bank]
  as.idToken = { claims: (c) => ({ ...c, ...claims }) }
  const delivery = await as.authorize(started.headers.get('location') ?? '')
  return browser.deliver(delivery)
}

/** The session's grants, by bank: the `sub` of each. */
export async function logins(
  app: TwoBanks,
  browser: AppBrowser = app.browser,
): Promise<Record<string, string>> {
  return (await (await browser.request('/logins')).json()) as Record<string, string>
}

/** Waits (bounded) until the server has seen `count` requests to `path`. */
export async function seen(as: HostileServer, path: string, count: number): Promise<void> {
  for (let round = 0; round < 500 && as.requests(path) < count; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  assert.ok(as.requests(path) >= count, `${path} reached ${count}`)
}
