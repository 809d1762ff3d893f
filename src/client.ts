/**
 * `fapiClient()`: resolves the configuration once and hands out the middlewares that share it.
 *
 * @module
 */
import type { RequestHandler } from 'express'
import { resolveConfig, type FapiClientOptions } from './config.js'
import { Discovery } from './core/discovery.js'
import type { ClientContext } from './core/flow.js'
import { RemoteJwks } from './core/jwks.js'
import { ConsumedStates } from './core/transaction.js'
import { createCallback, type LoginHandler } from './express/callback.js'
import { createJwksRoute } from './express/jwks-route.js'
import { createLogin } from './express/login.js'

/** The middlewares of one FAPI client. */
export interface FapiClient {
  /**
   * The login route: accepts `?returnTo=` (a path on this site, or a URL on `returnToOrigins`),
   * stores a pending login in the session and redirects to the authorization server.
   */
  login(): RequestHandler
  /**
   * The callback route at `redirectUri`'s path, for GET and POST (`app.all`). Calls `handler`
   * only after every check passed and the session was regenerated; without a handler, redirects
   * to `returnTo`.
   */
  callback(handler?: LoginHandler): RequestHandler
  /** The client's public signing keys as a JWKS, for the server's `jwks_uri` of this client. */
  jwks(): RequestHandler
  /**
   * Fetches discovery and the server's JWKS now. Optional: both are fetched on first use anyway.
   * Rejects with a `FapiError` when the server is unreachable or its metadata is unusable.
   */
  ready(): Promise<void>
}

/**
 * Creates a FAPI client. Throws a {@link FapiConfigError} at once on a configuration mistake.
 *
 * @example
 * ```ts
 * const auth = fapiClient({
 *   issuer: 'https://as.example.com',
 *   clientId: 'portal',
 *   redirectUri: 'https://portal.example.com/auth/callback',
 *   keys: { signing: [privateJwk] },
 * })
 * app.get('/auth/login', auth.login())
 * app.all('/auth/callback', auth.callback((req, res, { returnTo }) => res.redirect(returnTo)))
 * app.get('/.well-known/jwks.json', auth.jwks())
 * ```
 * @see FAPI 2.0 Message Signing; RFC 9101 (JAR); RFC 9126 (PAR); JARM
 */
export function fapiClient(options: FapiClientOptions): FapiClient {
  const config = resolveConfig(options)
  const discovery = new Discovery(config)
  const jwks = new RemoteJwks(async () => (await discovery.get()).jwksUri, config)
  const context: ClientContext = {
    config,
    discovery,
    jwks,
    consumed: new ConsumedStates(config.pendingLoginMaxAge * 1000),
  }
  return Object.freeze({
    login: () => createLogin(context),
    callback: (handler?: LoginHandler) => createCallback(context, handler),
    jwks: () => createJwksRoute(config),
    async ready() {
      await discovery.get()
      await jwks.load()
    },
  })
}
