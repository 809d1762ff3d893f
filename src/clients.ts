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
import { FapiConfigError, isFapiError } from './errors.js'
import { setOwnerPolicy, type OwnerPolicy } from './middleware/owner.js'
import { registerKeyResolver, type KeyResolver } from './middleware/session.js'
import type { ServerSet } from './core/flows/mix-up.js'
import { DEFAULTS } from './config/defaults.js'
import {
  SERVER_NAME,
  resolvedName,
  resolvedServers,
  unknownServer,
  withLinkedBanks,
  type ServerResolver,
} from './resolved-servers.js'
import type { CallbackOptions, LoginHandler } from './middleware/callback.js'
import type { Middleware } from './middleware/http.js'
import type { LoginOptions } from './middleware/login.js'
import {
  createServersRouter,
  serverParameter,
  type ServerMember,
  type ServerSelector,
} from './middleware/servers.js'

/** The clients of several authorization servers, by the app's names for them. */
export interface FapiClients {
  /** The servers' names: the static ones, and the banks resolved on demand in the cache now. */
  readonly names: readonly string[]
  /**
   * The client of one server (for its `jwks()`, `fetchResource()`, `clientCredentials()`, …): a
   * static one, or a bank resolved on demand that is in the cache now (else use `resolve()`).
   */
  client(name: string): FapiClient
  /**
   * The client of one server, a bank resolved on demand created on first use. Rejects with
   * `ERR_SERVER_UNKNOWN` for a name the resolver does not know.
   *
   * @example
   * ```ts
   * const bank = await banks.resolve('bank-a')
   * ```
   */
  resolve(name: string): Promise<FapiClient>
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
  /**
   * Banks resolved on demand beside the static ones: `(name) => options | undefined` (also
   * `fapiClients(resolve, settings)`). See docs/guides/several-banks-on-demand.md.
   */
  readonly resolve?: ServerResolver
  /** How many banks resolved on demand are kept (least recently used evicted first). Default 100. */
  readonly maxServers?: number
  /** Seconds a bank that failed to be created is answered with that failure. Default 5; 0: none. */
  readonly retryAfter?: number
  /**
   * The callback paths of banks resolved on demand, served before any of them is created (a
   * response to an instance that has not created its bank yet). Default: none besides the
   * paths of the banks created.
   */
  readonly callbackPaths?: readonly string[]
}

/**
 * Creates one client per authorization server. Each server's options are a `fapiClient()`'s; a
 * server without `sessionKey` gets `fapi_<name>`. Throws a `FapiConfigError` at startup on a
 * mistake (no server, a bad name, two servers with one issuer or one `sessionKey`).
 *
 * Banks may also be resolved on demand: give a resolver `(name) => options | undefined` instead
 * of the map (or as `settings.resolve` beside it); each bank is created on first use, kept in a
 * cache of `maxServers`, one creation in flight per name (docs/guides/several-banks-on-demand.md).
 * Every server's callback refuses another configured server's response (`ERR_MIX_UP_DETECTED`):
 * the static ones and the banks created so far.
 *
 * @example
 * ```ts
 * const banks = fapiClients({
 *   'bank-a': { issuer: 'https://as.bank-a.example', clientId: 'agg', redirectUri, keys },
 *   'bank-b': { issuer: 'https://as.bank-b.example', clientId: 'agg-7', redirectUri, keys, profile: 'fapi1-advanced', tls },
 * })
 * const directory = fapiClients(async (name) => optionsFromTheDirectory(name), { maxServers: 200 })
 * app.use(banks.router())
 * ```
 * @see RFC 9700 §4.4 (mix-up)
 */
export function fapiClients(
  servers: Readonly<Record<string, FapiClientOptions>> | ServerResolver,
  settings: FapiClientsOptions = {},
): FapiClients {
  const resolve = typeof servers === 'function' ? servers : settings.resolve
  const fixed = typeof servers === 'function' ? {} : servers
  if (
    typeof fixed !== 'object' ||
    fixed === null ||
    (Object.keys(fixed).length === 0 && resolve === undefined)
  ) {
    throw new FapiConfigError(
      'express-fapi: fapiClients() needs at least one server, by name, or a resolver (name) => options',
    )
  }
  if (resolve !== undefined && typeof resolve !== 'function') {
    throw new FapiConfigError(
      'express-fapi: fapiClients(): resolve must be a function (name) => the options of that bank, or undefined',
    )
  }
  const clients = new Map<string, FapiClient>()
  const cores = new Map<string, FapiCore>()
  const keys = new Map<string, string>()
  /** Every core that exists now: the static ones, and the banks created so far. */
  const allCores = (): ReadonlyMap<string, FapiCore> => {
    if (resolved === undefined) return cores
    const all = new Map(cores)
    for (const [name, server] of resolved.entries()) all.set(name, server.core)
    return all
  }
  const setOf = (name: string): ServerSet => ({
    name,
    otherServers: () => otherServersOf(allCores(), name),
  })
  for (const [name, options] of Object.entries(fixed)) {
    if (!SERVER_NAME.test(name)) {
      throw new FapiConfigError(
        `express-fapi: fapiClients(): server name "${name.slice(0, 40)}" must be 1 to 40 letters, digits, "-" or "_"`,
      )
    }
    const sessionKey = options.sessionKey ?? `fapi_${name.replace(/-/g, '_')}`
    // Each core knows the others: its callback refuses their responses (RFC 9700 §4.4).
    const core = createFapiCore({ ...options, sessionKey }, setOf(name))
    const sameIssuer = [...cores].find(([, other]) => other.issuer === core.issuer)?.[0]
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
    keys.set(sessionKey, name)
    clients.set(name, clientOf(core, options.issuer))
    cores.set(name, core)
  }
  const policy = ownership(clients, settings)
  const resolved =
    resolve === undefined
      ? undefined
      : resolvedServers({
          resolve,
          maxServers: bounded(settings.maxServers, 'maxServers', 100, 1, 100_000),
          retryAfter: bounded(settings.retryAfter, 'retryAfter', 5, 0, 3600),
          setOf,
          issuerTaken: (issuer, name) =>
            [...allCores()].find(([other, core]) => other !== name && core.issuer === issuer)?.[0],
          created: (server) => {
            setOwnerPolicy(server.core, policy(server.core))
            registerKeyResolver(server.core, resolveKey)
          },
        })
  /** A logout of this set ends the grants of its banks evicted since (created again). */
  const resolveKey: KeyResolver = (key) => {
    const name = resolved === undefined ? undefined : resolvedName(key)
    if (name === undefined || resolved === undefined) return undefined
    return {
      name,
      cached: resolved.peek(name)?.core,
      create: () => resolved.get(name).then((server) => server.core),
    }
  }
  if (resolved !== undefined)
    for (const core of cores.values()) registerKeyResolver(core, resolveKey)
  const named = async (name: string): Promise<FapiClient> => {
    const client = clients.get(name)
    if (client !== undefined) return client
    if (resolved === undefined) throw unknownServer(name)
    return (await resolved.get(name)).client
  }
  /** The names of the servers the session has a part of (static, and resolved ones by key). */
  const namesInSession = (req: IncomingMessage): string[] => {
    const names = new Set(clients.keys())
    const { session } = req as IncomingMessage & { session?: object | null }
    if (resolved !== undefined && typeof session === 'object' && session !== null) {
      for (const key of Object.keys(session)) {
        const name = resolvedName(key)
        if (name !== undefined) names.add(name)
      }
    }
    return [...names]
  }
  const withSessionBanks = <Req extends IncomingMessage, Res extends ServerResponse>(
    callback: Middleware<Req, Res>,
  ): Middleware<Req, Res> => (resolved === undefined ? callback : withLinkedBanks(callback, named))
  return Object.freeze({
    get names(): readonly string[] {
      return Object.freeze([
        ...clients.keys(),
        ...(resolved?.entries().map(([name]) => name) ?? []),
      ])
    },
    client(name: string): FapiClient {
      const client = clients.get(name) ?? resolved?.peek(name)?.client
      if (client === undefined) {
        throw new FapiConfigError(`express-fapi: fapiClients(): no server named "${name}"`)
      }
      return client
    },
    resolve: named,
    router<Req extends IncomingMessage, Res extends ServerResponse>(
      options: {
        readonly select?: ServerSelector<Req>
        readonly login?: LoginOptions<Req>
        readonly callback?: LoginHandler<Req, Res> | CallbackOptions<Req, Res>
      } = {},
    ): Middleware<Req, Res> {
      const members = new WeakMap<FapiClient, ServerMember<Req, Res>>()
      const memberOf = (name: string, client: FapiClient): ServerMember<Req, Res> => {
        let member = members.get(client)
        if (member === undefined) {
          member = {
            name,
            core: client.core,
            login: client.login<Req>(options.login) as Middleware<Req, Res>,
            callback: withSessionBanks(client.callback<Req, Res>(options.callback)),
            rest: client.router<Req, Res>({
              login: false,
              callback: false,
              logout: false,
              jwks: false,
              backchannelLogout: false,
            }),
          }
          members.set(client, member)
          loginPaths.add(client.core.paths.login)
          callbackPaths.add(client.core.paths.callback)
          const objects = client.core.paths.requestObjects
          if (objects !== undefined) requestObjectPaths.add(objects)
        }
        return member
      }
      const loginPaths = new Set<string>(resolved === undefined ? [] : [DEFAULTS.loginPath])
      const callbackPaths = new Set<string>(settings.callbackPaths ?? [])
      const requestObjectPaths = new Set<string>()
      for (const [name, client] of clients) memberOf(name, client)
      const known = (): ServerMember<Req, Res>[] => [
        ...[...clients].map(([name, client]) => memberOf(name, client)),
        ...(resolved?.entries().map(([name, server]) => memberOf(name, server.client)) ?? []),
      ]
      const select = options.select ?? serverParameter
      const backchannelLogout = createBackchannelLogout(
        () => [...allCores().values()],
        async (req) => {
          const name = resolved === undefined ? undefined : select(req as Req)
          if (name !== undefined) await named(name)
        },
      )
      const servers = createServersRouter<Req, Res>(
        {
          named: async (name) => memberOf(name, await named(name)),
          known,
          nameOfKey: (key) =>
            keys.get(key) ?? (resolved === undefined ? undefined : resolvedName(key)),
          loginPaths,
          callbackPaths,
          requestObjectPaths,
        },
        select,
      )
      return function fapiClientsRouter(req, res, next) {
        if (req.method === 'POST' && requestPath(req) === ROUTER_DEFAULTS.backchannelLogout) {
          // The logout token's iss picks the server, among the static ones and those created;
          // a bank resolved on demand that the request names (`?server=`, as at login) is
          // created first, so its tokens reach an instance that evicted it or never used it.
          backchannelLogout(req, res, next)
          return
        }
        servers(req, res, next)
      }
    },
    async currentLogins(req: IncomingMessage): Promise<Readonly<Record<string, ActiveGrant>>> {
      const logins: Record<string, ActiveGrant> = {}
      for (const name of namesInSession(req)) {
        const login = await (await named(name)).currentLogin(req)
        if (login !== undefined) logins[name] = login
      }
      return logins
    },
    async unlink(req: IncomingMessage, name: string): Promise<RevocationOutcome> {
      let client: FapiClient
      try {
        client = await named(name)
      } catch (error) {
        if (isFapiError(error) && error.code === 'ERR_SERVER_UNKNOWN') {
          throw new FapiConfigError(`express-fapi: fapiClients(): no server named "${name}"`)
        }
        throw error
      }
      return unlinkGrant(client.core, req)
    },
  })
}

function bounded(
  value: number | undefined,
  option: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FapiConfigError(
      `express-fapi: fapiClients(): ${option} must be an integer from ${min} to ${max}`,
    )
  }
  return value
}

/**
 * Sets how each server's logins find the session's owner: the app's `principal`, else the
 * identity at the `identity` server (each server its own when none is named).
 */
function ownership(
  clients: ReadonlyMap<string, FapiClient>,
  settings: FapiClientsOptions,
): (core: FapiCore) => OwnerPolicy {
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
  const policy = (core: FapiCore): OwnerPolicy => ({
    ...(principal === undefined ? {} : { principal }),
    ...(identityCore === undefined || identityCore === core ? {} : { identity: identityCore }),
  })
  for (const client of clients.values()) setOwnerPolicy(client.core, policy(client.core))
  return policy
}
