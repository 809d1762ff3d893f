/**
 * Several authorization servers behind one router (RFC 9700 §4.4 mix-up defence): the login names
 * its server (`?server=` or a function of the request); each transaction lives in its server's
 * session namespace, so it remembers its server; a callback shared by several servers finds the
 * transaction's server by the response's `state` and completes it with that server's metadata and
 * keys only. A response for a transaction of server A that carries another configured server's
 * `iss`, or that is signed by another configured server's keys, is `ERR_MIX_UP_DETECTED`, before
 * any token request.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FapiCore } from '../core/client.js'
import { AuthorizationResponseError, FapiError, isFapiError, toFapiError } from '../errors.js'
import { callbackRequest } from './callback.js'
import { queryParams, requestPath, type Middleware } from './http.js'
import { partOf, requireSession } from './session.js'

/** One server of the set: its name, its core and its route handlers. */
export interface ServerMember<Req extends IncomingMessage, Res extends ServerResponse> {
  readonly name: string
  readonly core: FapiCore
  readonly login: Middleware<Req, Res>
  readonly callback: Middleware<Req, Res>
  /** Its other routes (request objects by reference), or `next()`. */
  readonly rest: Middleware<Req, Res>
}

/** Picks the server of a login: `?server=` by default. */
export type ServerSelector<Req extends IncomingMessage> = (req: Req) => string | undefined

function unknownServer(): FapiError {
  return new FapiError(
    'ERR_SERVER_UNKNOWN',
    'the login names no server of this app, or one it does not know',
  )
}

function mixUp(message: string): AuthorizationResponseError {
  return new AuthorizationResponseError('ERR_MIX_UP_DETECTED', message)
}

/** The member whose session namespace holds a pending login for `state`. */
function ownerOf<Req extends IncomingMessage, Res extends ServerResponse>(
  req: IncomingMessage,
  members: readonly ServerMember<Req, Res>[],
  state: string | undefined,
): ServerMember<Req, Res> | undefined {
  if (state === undefined) return undefined
  const { session } = req as IncomingMessage & { session?: unknown }
  if (session === undefined || session === null) return undefined
  return members.find((member) => {
    const transactions = partOf(requireSession(req), member.core.sessionKey)?.transactions
    return transactions !== undefined && Object.hasOwn(transactions, state)
  })
}

/**
 * The callback of several servers sharing one path: the response goes to the server whose
 * transaction it names, and only as that server's.
 */
function sharedCallback<Req extends IncomingMessage, Res extends ServerResponse>(
  members: readonly ServerMember<Req, Res>[],
): Middleware<Req, Res> {
  return function fapiSharedCallback(req, res, next) {
    Promise.resolve()
      .then(async () => {
        const first = members[0] as ServerMember<Req, Res>
        const claimed = await claimedBy(req, members)
        const owner = ownerOf(req, members, claimed.state)
        if (owner === undefined) {
          // No transaction here (a cross-site form_post without the cookie, a relay, a stale
          // response): the server it names handles it, and verifies it before anything else.
          return members.find((member) => member.core.issuer === claimed.iss) ?? first
        }
        // RFC 9700 §4.4: another configured server's iss for this transaction is a mix-up.
        const named = members.find((member) => member.core.issuer === claimed.iss)
        if (claimed.iss !== undefined && named !== undefined && named !== owner) {
          throw mixUp(
            `the response for a login at "${owner.name}" carries the iss of "${named.name}" (RFC 9700 §4.4)`,
          )
        }
        return owner
      })
      .then(
        (member) => {
          if (member === undefined) return
          member.callback(req, res, (error?: unknown) => {
            if (
              !isFapiError(error) ||
              !['ERR_JARM_SIGNATURE_INVALID', 'ERR_JARM_KEY_NOT_FOUND'].includes(error.code)
            ) {
              next(error)
              return
            }
            // Signed by another configured server's keys, for this server's transaction.
            void signedByAnother(req, members, member).then(
              (other) =>
                next(
                  other === undefined
                    ? error
                    : mixUp(
                        `the response for a login at "${member.name}" is signed by the keys of "${other.name}" (RFC 9700 §4.4)`,
                      ),
                ),
              () => next(error),
            )
          })
        },
        (error: unknown) => next(toFapiError(error)),
      )
  }
}

/** What the response says of itself, as the first server whose response modes can read it. */
async function claimedBy<Req extends IncomingMessage, Res extends ServerResponse>(
  req: IncomingMessage,
  members: readonly ServerMember<Req, Res>[],
): Promise<{ state: string | undefined; iss: string | undefined }> {
  for (const member of members) {
    const claimed = await member.core.claimedResponse(callbackRequest(req))
    if (claimed.state !== undefined) return claimed
  }
  return { state: undefined, iss: undefined }
}

async function signedByAnother<Req extends IncomingMessage, Res extends ServerResponse>(
  req: IncomingMessage,
  members: readonly ServerMember<Req, Res>[],
  owner: ServerMember<Req, Res>,
): Promise<ServerMember<Req, Res> | undefined> {
  const { jwt } = await owner.core.claimedResponse(callbackRequest(req))
  if (jwt === undefined) return undefined
  for (const member of members) {
    if (member !== owner && (await member.core.signedByServer(jwt))) return member
  }
  return undefined
}

/** One router for a set of servers: the shared login, the callbacks, each server's other routes. */
export function createServersRouter<Req extends IncomingMessage, Res extends ServerResponse>(
  members: readonly ServerMember<Req, Res>[],
  select: ServerSelector<Req>,
): Middleware<Req, Res> {
  const loginPaths = new Set(members.map((member) => member.core.paths.login))
  const callbacks = new Map<string, ServerMember<Req, Res>[]>()
  for (const member of members) {
    const path = member.core.paths.callback
    callbacks.set(path, [...(callbacks.get(path) ?? []), member])
  }
  const callbackHandlers = new Map(
    [...callbacks].map(([path, list]) => [
      path,
      list.length === 1 ? (list[0] as ServerMember<Req, Res>).callback : sharedCallback(list),
    ]),
  )
  return function fapiServersRouter(req, res, next) {
    const path = requestPath(req)
    const method = req.method ?? ''
    if (loginPaths.has(path) && (method === 'GET' || method === 'HEAD')) {
      const name = select(req)
      const member = members.find(
        (candidate) => candidate.name === name && candidate.core.paths.login === path,
      )
      if (member === undefined) {
        next(unknownServer())
        return
      }
      member.login(req, res, next)
      return
    }
    const callback = callbackHandlers.get(path)
    if (callback !== undefined && (method === 'GET' || method === 'POST')) {
      callback(req, res, next)
      return
    }
    // Each server's other routes (request objects by reference), in turn.
    let index = 0
    const step = (error?: unknown): void => {
      const member = members[index]
      index += 1
      if (error !== undefined || member === undefined) next(error)
      else member.rest(req, res, step)
    }
    step()
  }
}

/** The default selector: `?server=<name>`. */
export function serverParameter(req: IncomingMessage): string | undefined {
  return queryParams(req).get('server') ?? undefined
}
