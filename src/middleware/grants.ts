/**
 * The grant reference: the one thing a session keeps of a finished login, per server (its
 * `sessionKey` namespace): the grant's id. The grant itself lives in the grant store; reading it
 * (`currentGrant`) is one store round trip per request and server, shared by the guard, the
 * accessors and the helpers of that request.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { ActiveGrant } from '../core/grants/record.js'
import { partOf, requireSession, type FapiSession } from './session.js'

/** The grant id a session keeps for the server of `key`, or `undefined`. */
export function grantIdOf(session: FapiSession, key: string): string | undefined {
  const id = partOf(session, key)?.grant
  return typeof id === 'string' ? id : undefined
}

/** Grants already read, by request and session key (a request reads each grant once). */
const reads = new WeakMap<IncomingMessage, Map<string, Promise<ActiveGrant | undefined>>>()

/**
 * The request's active grant at `core`'s server (read once per request), or `undefined`: no
 * session, no grant id in it, or a grant ended (on any instance) or forgotten.
 */
export function currentGrant(
  core: FapiCore,
  req: IncomingMessage,
): Promise<ActiveGrant | undefined> {
  const { session } = req as IncomingMessage & { session?: unknown }
  if (session === undefined || session === null) return Promise.resolve(undefined)
  const id = grantIdOf(requireSession(req), core.sessionKey)
  if (id === undefined) return Promise.resolve(undefined)
  let byKey = reads.get(req)
  if (byKey === undefined) reads.set(req, (byKey = new Map()))
  const cacheKey = `${core.sessionKey}\n${id}`
  let read = byKey.get(cacheKey)
  if (read === undefined) {
    read = core.currentGrant(id)
    byKey.set(cacheKey, read)
  }
  return read
}

/** Forgets what this request read of its grants (after a refresh or an end). */
export function forgetGrantReads(req: IncomingMessage): void {
  reads.delete(req)
}
