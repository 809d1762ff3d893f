/**
 * A real Express (4 or 5) or Connect 3 app with express-session and express-fapi mounted as a user
 * would, on 127.0.0.1, plus a small cookie-keeping client for it.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import connect from 'connect'
import express5 from 'express'
import express4 from 'express4'
import session, { type SessionData, type Store } from 'express-session'
import {
  errorHandler,
  fapiClient,
  type FapiClient,
  type FapiClientOptions,
  type LoginResult,
} from '../../src/index.js'

/** The framework of the app: Express 4 or 5, or Connect 3. */
export type ExpressVersion = 4 | 5 | 'connect'

/** The framework's name, for test titles: `Express 5`, `Express 4`, `Connect`. */
export function frameworkName(version: ExpressVersion): string {
  return version === 'connect' ? 'Connect' : `Express ${version}`
}

export interface StartedApp {
  /** e.g. http://127.0.0.1:PORT */
  readonly origin: string
  readonly redirectUri: string
  readonly jwksUri: string
  readonly client: FapiClient
  /** Every call of the app's login handler. */
  readonly logins: LoginResult[]
  /** Errors that reached the app's last error handler (not FapiErrors: those are rendered). */
  readonly unexpectedErrors: unknown[]
  close(): Promise<void>
}

export interface AppOptions {
  readonly express?: ExpressVersion
  readonly store?: Store
  /** Options for fapiClient, given the app's redirect URI. */
  readonly client: (app: {
    origin: string
    redirectUri: string
    jwksUri: string
  }) => FapiClientOptions | Promise<FapiClientOptions>
  /** More routes (Express only), mounted after the login routes and before the error handlers. */
  readonly routes?: (app: express5.Express, client: FapiClient) => void
}

export async function startApp(options: AppOptions): Promise<StartedApp> {
  const server: Server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const redirectUri = `${origin}/auth/callback`
  let client: FapiClient
  try {
    client = fapiClient(await options.client({ origin, redirectUri, jwksUri: `${origin}/jwks` }))
  } catch (error) {
    // A failed setup must not leave the server listening (the test run would never end).
    server.close()
    throw error
  }
  const logins: LoginResult[] = []
  const unexpectedErrors: unknown[] = []

  const sessions = session({
    secret: 'test-secret-not-for-production',
    resave: false,
    saveUninitialized: false,
    ...(options.store ? { store: options.store } : {}),
  })
  const version = options.express ?? 5
  if (version === 'connect') {
    if (options.routes !== undefined) {
      server.close()
      throw new Error('routes are Express routes: not for a Connect app')
    }
    server.on('request', connectApp(client, sessions, logins, unexpectedErrors))
  } else {
    const express = version === 4 ? express4 : express5
    const app = express()
    app.use(sessions)
    app.get('/auth/login', client.login())
    app.all(
      '/auth/callback',
      client.callback((_req: express5.Request, res: express5.Response, result) => {
        logins.push(result)
        res.json({ sub: result.claims.sub, returnTo: result.returnTo })
      }),
    )
    app.get('/jwks', client.jwks())
    app.get('/me', (req, res, next) => {
      client.currentLogin(req).then((login) => {
        if (login === undefined) res.status(401).json({ error: 'not logged in' })
        else res.json({ sub: login.claims.sub })
      }, next)
    })
    options.routes?.(app as express5.Express, client)
    app.use(errorHandler())
    app.use(
      (
        err: unknown,
        _req: express5.Request,
        res: express5.Response,
        _next: express5.NextFunction,
      ) => {
        void _next
        unexpectedErrors.push(err)
        res.status(500).json({ error: 'unexpected' })
      },
    )
    server.on('request', app)
  }

  return {
    origin,
    redirectUri,
    jwksUri: `${origin}/jwks`,
    client,
    logins,
    unexpectedErrors,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

/** A cookie-keeping HTTP client for the app (one "browser profile"). */
export class AppBrowser {
  readonly #cookies = new Map<string, string>()
  readonly #origin: string

  constructor(origin: string) {
    this.#origin = origin
  }

  get cookieHeader(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  clearCookies(): void {
    this.#cookies.clear()
  }

  async request(
    pathOrUrl: string,
    init: {
      method?: string
      body?: string | URLSearchParams
      headers?: Record<string, string>
    } = {},
  ): Promise<Response> {
    const url = new URL(pathOrUrl, this.#origin)
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers }
    if (this.#cookies.size > 0) headers.cookie = this.cookieHeader
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers,
      ...(init.body === undefined ? {} : { body: init.body }),
    })
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair?.indexOf('=') ?? -1
      if (pair !== undefined && eq > 0)
        this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
    }
    return response
  }

  /** GET /auth/login and return the authorization URL the app redirected to. */
  async startLogin(query = ''): Promise<string> {
    const response = await this.request(`/auth/login${query}`)
    if (response.status !== 303) {
      throw new Error(`login answered ${response.status}: ${(await response.text()).slice(0, 300)}`)
    }
    return response.headers.get('location') ?? ''
  }

  /** Deliver an authorization response to the callback as the browser would. */
  deliver(delivery: {
    method: 'GET' | 'POST'
    url: string
    body?: URLSearchParams
  }): Promise<Response> {
    if (delivery.method === 'GET') return this.request(delivery.url)
    return this.request(delivery.url, {
      method: 'POST',
      body: delivery.body ?? new URLSearchParams(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
  }
}

/** A JSON answer, on plain node:http. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.end(JSON.stringify(value))
}

type Handler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void

/** Connect routes by path prefix only: this passes other methods on. */
export function onlyMethods(methods: readonly string[], handler: Handler): Handler {
  return (req, res, next) => {
    if (methods.includes(req.method ?? '')) handler(req, res, next)
    else next()
  }
}

/** The express-session session of a plain node:http request. */
export function sessionOf(req: IncomingMessage): Partial<SessionData> {
  const { session: data } = req as IncomingMessage & { session?: Partial<SessionData> }
  if (data === undefined) throw new Error('no session: express-session is not mounted')
  return data
}

/** A JSON request body, on plain node:http. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown)
}

/** The same routes on Connect 3, which routes by path prefix only: methods are checked here. */
function connectApp(
  client: FapiClient,
  sessions: ReturnType<typeof session>,
  logins: LoginResult[],
  unexpectedErrors: unknown[],
): connect.Server {
  const app = connect()
  // express-session is Connect middleware; its types name Express's request type only.
  app.use(sessions as unknown as connect.NextHandleFunction)
  app.use('/auth/login', onlyMethods(['GET'], client.login()))
  app.use(
    '/auth/callback',
    client.callback((_req, res, result) => {
      logins.push(result)
      sendJson(res, 200, { sub: result.claims.sub, returnTo: result.returnTo })
    }),
  )
  app.use('/jwks', onlyMethods(['GET'], client.jwks()))
  app.use(
    '/me',
    onlyMethods(['GET'], (req, res, next) => {
      client.currentLogin(req).then((login) => {
        if (login === undefined) sendJson(res, 401, { error: 'not logged in' })
        else sendJson(res, 200, { sub: login.claims.sub })
      }, next)
    }),
  )
  app.use(errorHandler())
  app.use(
    (err: unknown, _req: IncomingMessage, res: ServerResponse, _next: (err?: unknown) => void) => {
      void _next
      unexpectedErrors.push(err)
      sendJson(res, 500, { error: 'unexpected' })
    },
  )
  return app
}
