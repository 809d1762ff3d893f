/**
 * One real Express app with `fapiClients()` and three authorization servers: two real
 * oidc-provider "banks" (bank-a: plain OIDC with JARM, no PAR; bank-b: FAPI 2.0 Message Signing
 * with DPoP) and the hostile server as the attacker's server ("evil"), all sharing one callback.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import express from 'express'
import session from 'express-session'
import { errorHandler, fapiClients, type FapiClients } from '../../src/index.js'
import { AppBrowser } from './app.js'
import { startHostileServer, type HostileServer } from './hostile-server.js'
import { generateJwks } from './keys.js'
import { startFapi2Provider, type StartedFapi2Provider } from './provider-fapi2.js'
import { UserAgent } from './user-agent.js'

export interface Banks {
  readonly origin: string
  readonly redirectUri: string
  readonly bankA: StartedFapi2Provider
  readonly bankB: StartedFapi2Provider
  readonly evil: HostileServer
  readonly clients: FapiClients
  readonly browser: AppBrowser
  readonly agent: UserAgent
  /** Errors that reached the app's last handler (none expected). */
  readonly unexpectedErrors: unknown[]
}

export async function startBanks(t: TestContext): Promise<Banks> {
  const server: Server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const redirectUri = `${origin}/auth/callback`
  const [keyA, keyB, keyEvil] = await Promise.all([
    generateJwks('ES256', 'agg-a'),
    generateJwks('ES256', 'agg-b'),
    generateJwks('ES256', 'agg-evil'),
  ])
  const [bankA, bankB, evil] = await Promise.all([
    startFapi2Provider({
      clients: [
        {
          clientId: 'agg-a',
          redirectUri,
          jwks: { keys: [keyA.publicJwk] },
          fapi: undefined,
          signingAlg: 'ES256',
          binding: 'none',
          responseModes: ['jwt', 'query.jwt'],
        },
      ],
    }),
    startFapi2Provider({
      clients: [
        {
          clientId: 'agg-b',
          redirectUri,
          jwks: { keys: [keyB.publicJwk] },
          fapi: '2.0',
          signingAlg: 'ES256',
          binding: 'dpop',
          responseModes: ['jwt'],
          requirePar: true,
          requireRequestObject: true,
        },
      ],
    }),
    startHostileServer({ clientId: 'agg-evil', clientJwks: { keys: [keyEvil.publicJwk] } }),
  ])
  const clients = fapiClients(
    {
      'bank-a': {
        issuer: bankA.issuer,
        clientId: 'agg-a',
        redirectUri,
        keys: { signing: [keyA.privateJwk] },
        profile: 'oidc',
        responseMode: 'jwt',
        scope: 'openid profile',
        allowInsecureLoopback: true,
      },
      'bank-b': {
        issuer: bankB.issuer,
        clientId: 'agg-b',
        redirectUri,
        keys: { signing: [keyB.privateJwk] },
        scope: 'openid profile',
        allowInsecureLoopback: true,
      },
      evil: {
        issuer: evil.issuer,
        clientId: 'agg-evil',
        redirectUri,
        keys: { signing: [keyEvil.privateJwk] },
        senderConstraint: 'none',
        allowInsecureLoopback: true,
      },
    },
    { identity: 'bank-a' },
  )
  const unexpectedErrors: unknown[] = []
  const app = express()
  app.use(
    session({ secret: 'test-secret-not-for-production', resave: false, saveUninitialized: false }),
  )
  app.use(clients.router())
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
  app.use(errorHandler())
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      void _next
      unexpectedErrors.push(err)
      res.status(500).json({ error: 'unexpected' })
    },
  )
  server.on('request', app)
  t.after(async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
    await Promise.all([bankA.close(), bankB.close(), evil.close()])
  })
  return {
    origin,
    redirectUri,
    bankA,
    bankB,
    evil,
    clients,
    browser: new AppBrowser(origin),
    agent: new UserAgent(),
    unexpectedErrors,
  }
}
