/**
 * `fapiClients()`: one app, several authorization servers (an aggregator linking several banks),
 * each its own client with its own client id, keys and profile, under one router, with mix-up
 * defence (RFC 9700 §4.4).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { clientOf, type FapiClient } from './client.js'
import { createFapiCore } from './core/client.js'
import { otherServersOf } from './core/server-set.js'
import type { FapiClientOptions } from './config/index.js'
import type { ActiveGrant } from './core/grants/record.js'
import type { FapiCore } from './core/client.js'
import type { RevocationOutcome } from './core/flows/revocation.js'
import { unlinkGrant } from './middleware/unlink.js'
import { createBackchannelLogout } from './middleware/backchannel-logout.js'
import { requestPath } from './middleware/http.js'
import { ROUTER_DEFAULTS } from './middleware/router.js'
import { FapiConfigError } from './errors.js'
import { setOwnerPolicy } from './middleware/owner.js'
import type { CallbackOptions, LoginHandler } from './middleware/callback.js'
import type { Middleware } from './middleware/http.js'
import type { LoginOptions } from './middleware/login.js'
import { createServersRouter, serverParameter, type ServerSelector } from './middleware/servers.js'

/** The clients of several authorization servers, by the app's names for them. */
export interface FapiClients {
  /** The servers' names, as configured. */
  readonly names: readonly string[]
  /** The client of one server (for its `jwks()`, `fetchResource()`, `clientCredentials()`, …). */
  client(name: string): FapiClient
  /**
   * One middleware for all servers: the login at `loginPath` picks its server with `select`
   * (default `?server=<name>`; another name, or none, is `ERR_SERVER_UNKNOWN`); each server's
   * callback at its `redirectUri`'s path (servers may share one path: the response goes to the
   * server whose pending login its `state` names, and completes only with that server's metadata
   * and keys); each server's request objects by reference. A response for a login at one server
   * that carries another configured server's `iss`, or is signed by another configured server's
   * keys, is `ERR_MIX_UP_DETECTED`, before any token request. Logout and JWKS stay per client.
   *
   * @example
   * ```ts
   * app.use(banks.router())                      // /auth/login?server=bank-a
   * app.get('/.well-known/jwks-a.json', banks.client('bank-a').jwks())
   * ```
   * @see RFC 9700 §4.4; RFC 9207 §2.4; JARM §4.4 (2)
   */
  router<
    Req extends IncomingMessage = IncomingMessage,
    Res extends ServerResponse = ServerResponse,
  >(options?: {
    readonly select?: ServerSelector<Req>
    readonly login?: LoginOptions<Req>
    readonly callback?: LoginHandler<Req, Res> | CallbackOptions<Req, Res>
  }): Middleware<Req, Res>
  /** The session's active grants, by server name: several banks linked in one session. */
  currentLogins(req: IncomingMessage): Promise<Readonly<Record<string, ActiveGrant>>>
  /**
   * Unlinks one bank from the session: ends its grant (revoking its tokens, RFC 7009) and drops
   * its reference from the session; the other banks' grants stay. Resolves with the revocation's
   * outcome (`no-login` when that bank was not linked).
   *
   * @example
   * ```ts
   * app.post('/account/unlink/:bank', (req, res, next) => {
   *   banks.unlink(req, req.params.bank).then(() => res.redirect(303, '/account'), next)
   * })
   * ```
   */
  unlink(req: IncomingMessage, name: string): Promise<RevocationOutcome>
}

/**
 * Creates one client per authorization server. Each server's options are a `fapiClient()`'s; a
 * server without `sessionKey` gets `fapi_<name>`. Throws a `FapiConfigError` at startup on a
 * mistake (no server, a bad name, two servers with one issuer or one `sessionKey`).
 *
 * @example
 * ```ts
 * const banks = fapiClients({
 *   'bank-a': { issuer: 'https://as.bank-a.example', clientId: 'agg', redirectUri, keys },
 *   'bank-b': { issuer: 'https://as.bank-b.example', clientId: 'agg-7', redirectUri, keys, profile: 'fapi1-advanced', tls },
 * })
 * app.use(banks.router())
 * ```
 * @see RFC 9700 §4.4 (mix-up)
 */
/** Options of {@link fapiClients} as a whole. */
export interface FapiClientsOptions {
  /**
   * The server whose login says who the user is (the session's owner): a login there that names
   * another user starts a fresh session; logins at the other servers link to that owner.
   * Default: none (each server's login is its own owner, unless `principal` says otherwise).
   */
  readonly identity?: string
  /**
   * The app's own user of a request (for apps with their own accounts): a login links to it.
   * Default: none.
   */
  readonly principal?: (req: IncomingMessage) => string | undefined
}

export function fapiClients(
  servers: Readonly<Record<string, FapiClientOptions>>,
  settings: FapiClientsOptions = {},
): FapiClients {
  if (typeof servers !== 'object' || servers === null || Object.keys(servers).length === 0) {
    throw new FapiConfigError('express-fapi: fapiClients() needs at least one server, by name')
  }
  const clients = new Map<string, FapiClient>()
  const cores = new Map<string, FapiCore>()
  const issuers = new Map<string, string>()
  const keys = new Map<string, string>()
  for (const [name, options] of Object.entries(servers)) {
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(name)) {
      throw new FapiConfigError(
        `express-fapi: fapiClients(): server name "${name.slice(0, 40)}" must be 1 to 40 letters, digits, "-" or "_"`,
      )
    }
    const sessionKey = options.sessionKey ?? `fapi_${name.replace(/-/g, '_')}`
    // Each core knows the others: its callback refuses their responses (RFC 9700 §4.4).
    const core = createFapiCore(
      { ...options, sessionKey },
      { name, otherServers: () => otherServersOf(cores, name) },
    )
    const client = clientOf(core, options.issuer)
    const sameIssuer = issuers.get(client.core.issuer)
    if (sameIssuer !== undefined) {
      throw new FapiConfigError(
        `express-fapi: fapiClients(): "${sameIssuer}" and "${name}" have one issuer; give each authorization server one entry`,
      )
    }
    const sameKey = keys.get(sessionKey)
    if (sameKey !== undefined) {
      throw new FapiConfigError(
        `express-fapi: fapiClients(): "${sameKey}" and "${name}" share sessionKey "${sessionKey}"; give each its own`,
      )
    }
    issuers.set(client.core.issuer, name)
    keys.set(sessionKey, name)
    clients.set(name, client)
    cores.set(name, core)
  }
  ownership(clients, settings)
  const names = Object.freeze([...clients.keys()])
  return Object.freeze({
    names,
    client(name: string): FapiClient {
      const client = clients.get(name)
      if (client === undefined) {
        throw new FapiConfigError(`express-fapi: fapiClients(): no server named "${name}"`)
      }
      return client
    },
    router<Req extends IncomingMessage, Res extends ServerResponse>(
      options: {
        readonly select?: ServerSelector<Req>
        readonly login?: LoginOptions<Req>
        readonly callback?: LoginHandler<Req, Res> | CallbackOptions<Req, Res>
      } = {},
    ): Middleware<Req, Res> {
      const members = [...clients].map(([name, client]) => ({
        name,
        core: client.core,
        login: client.login<Req>(options.login) as Middleware<Req, Res>,
        callback: client.callback<Req, Res>(options.callback),
        rest: client.router<Req, Res>({
          login: false,
          callback: false,
          logout: false,
          jwks: false,
          backchannelLogout: false,
        }),
      }))
      const servers = createServersRouter(members, options.select ?? serverParameter)
      // One back-channel logout route for every server: the logout token's iss picks one.
      const backchannel = createBackchannelLogout(members.map((member) => member.core))
      return function fapiClientsRouter(req, res, next) {
        if (req.method === 'POST' && requestPath(req) === ROUTER_DEFAULTS.backchannelLogout) {
          backchannel(req, res, next)
          return
        }
        servers(req, res, next)
      }
    },
    async currentLogins(req: IncomingMessage): Promise<Readonly<Record<string, ActiveGrant>>> {
      const logins: Record<string, ActiveGrant> = {}
      for (const [name, client] of clients) {
        const login = await client.currentLogin(req)
        if (login !== undefined) logins[name] = login
      }
      return logins
    },
    unlink(req: IncomingMessage, name: string): Promise<RevocationOutcome> {
      const client = clients.get(name)
      if (client === undefined) {
        return Promise.reject(
          new FapiConfigError(`express-fapi: fapiClients(): no server named "${name}"`),
        )
      }
      return unlinkGrant(client.core, req)
    },
  })
}

/**
 * Sets how each server's logins find the session's owner: the app's `principal`, else the
 * identity at the `identity` server (each server its own when none is named).
 */
function ownership(clients: ReadonlyMap<string, FapiClient>, settings: FapiClientsOptions): void {
  const { identity, principal } = settings
  if (principal !== undefined && typeof principal !== 'function') {
    throw new FapiConfigError(
      'express-fapi: fapiClients(): principal must be a function (req) => the app user id or undefined',
    )
  }
  if (identity !== undefined && !clients.has(identity)) {
    throw new FapiConfigError(
      `express-fapi: fapiClients(): identity "${String(identity).slice(0, 40)}" is not one of the servers (${[...clients.keys()].join(', ')})`,
    )
  }
  const identityCore = identity === undefined ? undefined : clients.get(identity)?.core
  for (const client of clients.values()) {
    setOwnerPolicy(client.core, {
      ...(principal === undefined ? {} : { principal }),
      ...(identityCore === undefined || identityCore === client.core
        ? {}
        : { identity: identityCore }),
    })
  }
}
