/**
 * Several authorization servers behind one router (RFC 9700 §4.4): the login names its server
 * (`?server=` or a function of the request); each transaction lives in its server's session
 * namespace, so it remembers its server; a callback shared by several servers finds the
 * transaction's server by the response's `state` and hands the response to that server's
 * callback. The mix-up check itself (another configured server's `iss` or keys is
 * `ERR_MIX_UP_DETECTED`, before any token request) is the core's, so every callback has it,
 * shared or not (core/flows/mix-up.ts).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FapiCore } from '../core/client.js'
import { FapiError, toFapiError } from '../errors.js'
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
 * pending login its `state` names (whose core refuses another server's response); with none in
 * this session (a cross-site form_post without the cookie, a relay, a stale response), to the
 * server its `iss` names, which verifies it before anything else.
 */
function sharedCallback<Req extends IncomingMessage, Res extends ServerResponse>(
  members: readonly ServerMember<Req, Res>[],
): Middleware<Req, Res> {
  return function fapiSharedCallback(req, res, next) {
    claimedBy(req, members).then(
      (claimed) => {
        const member =
          ownerOf(req, members, claimed.state) ??
          members.find((candidate) => candidate.core.issuer === claimed.iss) ??
          (members[0] as ServerMember<Req, Res>)
        member.callback(req, res, next)
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
      let name: string | undefined
      try {
        name = select(req)
      } catch (error) {
        next(toFapiError(error))
        return
      }
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

/**
 * The default selector: `?server=<name>`; a request that names its server more than once is
 * `ERR_SERVER_AMBIGUOUS` (never the first or the last of them, silently).
 */
export function serverParameter(req: IncomingMessage): string | undefined {
  const named = queryParams(req).getAll('server')
  if (named.length > 1) {
    throw new FapiError(
      'ERR_SERVER_AMBIGUOUS',
      `the login names its server ${named.length} times (?server=); name one`,
    )
  }
  return named[0]
}
