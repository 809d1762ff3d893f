/**
 * Banks resolved on demand for `fapiClients(resolve)`: a bank's client is created on its first
 * use (the app's resolver gives its options; discovery and its JWKS are fetched), kept in a
 * bounded cache (least recently used evicted first), one creation in flight per name, and a
 * failure remembered only for `retryAfter` seconds. A bank's session part is under a key derived
 * from its name (`fapi$` + the name, `-` written `$`), so a pending login or a grant reference
 * of a bank that is not in the cache (evicted, or created only on another instance) finds its
 * bank again: it is created anew.
 *
 * @module
 */
import { clientOf, type FapiClient } from './client.js'
import type { FapiClientOptions } from './config/index.js'
import { createFapiCore, type FapiCore } from './core/client.js'
import type { ServerSet } from './core/flows/mix-up.js'
import { onDemand, type OnDemand } from './core/on-demand.js'
import { memoryCoordination } from './core/coordination/memory.js'
import { memoryGrantStore } from './core/grants/memory.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { FapiError, isFapiError, toFapiError } from './errors.js'
import type { Middleware } from './middleware/http.js'
import { registerNamespacePrefix, unregisterNamespace } from './middleware/session.js'

/**
 * The app's resolver of banks: the options of the bank named `name`, or `undefined` when there is
 * no such bank (`ERR_SERVER_UNKNOWN`). It may be async: read a directory, register the client
 * (`fapiRegistration(...).clientOptions()`).
 */
export type ServerResolver = (
  name: string,
) => FapiClientOptions | undefined | Promise<FapiClientOptions | undefined>

/** A created bank. */
export interface ResolvedServer {
  readonly name: string
  readonly client: FapiClient
  readonly core: FapiCore
}

/** The names a server may have: 1 to 40 letters, digits, `-` or `_`. */
export const SERVER_NAME = /^[A-Za-z0-9_-]{1,40}$/

const KEY_PREFIX = 'fapi$'

/** The session key of a bank resolved on demand. */
export function resolvedKey(name: string): string {
  return `${KEY_PREFIX}${name.replace(/-/g, '$')}`
}

/** The name of the bank resolved on demand whose session key is `key`, if it is one. */
export function resolvedName(key: string): string | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined
  const name = key.slice(KEY_PREFIX.length).replace(/\$/g, '-')
  return SERVER_NAME.test(name) ? name : undefined
}

export function unknownServer(name: string): FapiError {
  return new FapiError(
    'ERR_SERVER_UNKNOWN',
    `the login names no server of this app, or one it does not know ("${name.slice(0, 40)}")`,
  )
}

function resolutionFailed(name: string, detail: string): FapiError {
  return new FapiError(
    'ERR_SERVER_RESOLUTION_FAILED',
    `fapiClients(): bank "${name}" could not be created: ${detail}`,
  )
}

/** How banks resolved on demand are created and kept. */
export interface ResolvedServersOptions {
  readonly resolve: ServerResolver
  readonly maxServers: number
  readonly retryAfter: number
  /** The set of a bank's core (its name; the other servers, static and created). */
  readonly setOf: (name: string) => ServerSet
  /** The issuers taken already (static servers, and banks created), by name. */
  readonly issuerTaken: (issuer: string, name: string) => string | undefined
  /** Called with each bank created (its owner policy). */
  readonly created: (server: ResolvedServer) => void
}

/** The cache of banks resolved on demand. */
export function resolvedServers(options: ResolvedServersOptions): OnDemand<ResolvedServer> {
  registerNamespacePrefix(KEY_PREFIX)
  // A bank created anew after its eviction finds the grants and claims of the one before: the
  // banks that bring no store of their own share these (one process's memory).
  const shared = { grants: memoryGrantStore(), coordination: memoryCoordination() }
  // The issuers of the banks in the cache and of those being created, by name: two names created
  // at once for one issuer would each find the other absent from the cache (RFC 9700 §4.4 needs
  // one name per server).
  const issuers = new Map<string, string>()
  return onDemand<ResolvedServer>({
    max: options.maxServers,
    retryAfterMs: options.retryAfter * 1000,
    now: Date.now,
    evicted: (name, server) => {
      unregisterNamespace(server.core)
      if (issuers.get(server.core.issuer) === name) issuers.delete(server.core.issuer)
    },
    create: async (name) => {
      if (!SERVER_NAME.test(name)) throw unknownServer(name)
      let given: FapiClientOptions | undefined
      try {
        given = await options.resolve(name)
      } catch {
        // The app's own error may hold anything: withheld.
        throw resolutionFailed(name, 'the resolver failed')
      }
      if (given === undefined) throw unknownServer(name)
      if (typeof given !== 'object' || given === null || given.sessionKey !== undefined) {
        throw resolutionFailed(
          name,
          'the resolver must give fapiClient() options without sessionKey',
        )
      }
      let core: FapiCore
      try {
        core = createFapiCore(
          {
            ...given,
            sessionKey: resolvedKey(name),
            grants: given.grants ?? shared.grants,
            coordination: given.coordination ?? shared.coordination,
          },
          options.setOf(name),
        )
      } catch (error) {
        throw resolutionFailed(
          name,
          `its options are refused (${error instanceof Error ? error.message : 'invalid'})`,
        )
      }
      const claimed = issuers.get(core.issuer)
      const taken =
        options.issuerTaken(core.issuer, name) ?? (claimed === name ? undefined : claimed)
      if (taken !== undefined) {
        throw resolutionFailed(
          name,
          `"${taken}" has its issuer; give each authorization server one name`,
        )
      }
      issuers.set(core.issuer, name)
      try {
        await core.ready()
      } catch (error) {
        issuers.delete(core.issuer)
        throw isFapiError(error) ? error : resolutionFailed(name, 'its discovery failed')
      }
      const server = { name, core, client: clientOf(core, given.issuer) }
      options.created(server)
      return server
    },
  })
}

/**
 * A callback that first creates (again) the banks resolved on demand the session holds a grant
 * of, so that the owner rule of the login sees them: an evicted bank's grant is kept or dropped by
 * its owner, like any other, never for its absence from the cache. A bank that cannot be created
 * fails the callback.
 */
export function withLinkedBanks<Req extends IncomingMessage, Res extends ServerResponse>(
  callback: Middleware<Req, Res>,
  named: (name: string) => Promise<unknown>,
): Middleware<Req, Res> {
  return function fapiCallbackWithBanks(req, res, next) {
    const { session } = req as IncomingMessage & { session?: object | null }
    const linked =
      typeof session === 'object' && session !== null
        ? Object.entries(session).flatMap(([key, part]) => {
            const name = resolvedName(key)
            return name !== undefined &&
              typeof part === 'object' &&
              part !== null &&
              'grant' in part
              ? [name]
              : []
          })
        : []
    Promise.all(linked.map(named)).then(
      () => callback(req, res, next),
      (error: unknown) => next(toFapiError(error)),
    )
  }
}
