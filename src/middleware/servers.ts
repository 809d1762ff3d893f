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
import { decodeJwt } from 'jose'
import { FapiError, SessionError, toFapiError } from '../errors.js'
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

/**
 * The servers a router serves: the static ones, and banks resolved on demand (created on first
 * use, possibly evicted since; a pending login of an evicted bank recreates it).
 */
export interface ServerMembers<Req extends IncomingMessage, Res extends ServerResponse> {
  /** The member named `name`, created on first use; rejects with `ERR_SERVER_UNKNOWN`. */
  named(name: string): Promise<ServerMember<Req, Res>>
  /** The members that exist now: the static ones, and those created so far. */
  known(): readonly ServerMember<Req, Res>[]
  /** The name of the server whose session part is under `key`, when it is one of the set. */
  nameOfKey(key: string): string | undefined
  /** The login paths and the callback paths served (with those of the members created since). */
  readonly loginPaths: ReadonlySet<string>
  readonly callbackPaths: ReadonlySet<string>
  /** Where members serve request objects by reference (prefixes). */
  readonly requestObjectPaths: ReadonlySet<string>
}

/** The name of the server whose part of the session holds a pending login for `state`. */
function pendingAt<Req extends IncomingMessage, Res extends ServerResponse>(
  req: IncomingMessage,
  members: ServerMembers<Req, Res>,
  state: string | undefined,
): string | undefined {
  if (state === undefined) return undefined
  const { session } = req as IncomingMessage & { session?: unknown }
  if (session === undefined || session === null) return undefined
  const parts = requireSession(req)
  for (const key of Object.keys(parts)) {
    const name = members.nameOfKey(key)
    const transactions = name === undefined ? undefined : partOf(parts, key)?.transactions
    if (transactions !== undefined && Object.hasOwn(transactions, state)) return name
  }
  return undefined
}

/**
 * The server of a callback request: the one whose pending login its `state` names (recreated if
 * it was evicted), else the one its `iss` names, else the first. Routing only: that server's
 * core verifies the response, and refuses another configured server's (RFC 9700 §4.4).
 */
async function callbackMember<Req extends IncomingMessage, Res extends ServerResponse>(
  req: IncomingMessage,
  members: ServerMembers<Req, Res>,
): Promise<ServerMember<Req, Res> | undefined> {
  const path = requestPath(req)
  const claimed = await claimedBy(req, members.known())
  const pending = pendingAt(req, members, claimed.state)
  if (pending !== undefined) {
    const member = await members.named(pending)
    if (member.core.paths.callback === path) return member
  }
  const here = members.known().filter((candidate) => candidate.core.paths.callback === path)
  return here.find((candidate) => candidate.core.issuer === claimed.iss) ?? here[0]
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
  return claimedPlainly(req)
}

/** `state` and `iss` of a response in the query (plain, or a JARM JWT), read by no client. */
function claimedPlainly(req: IncomingMessage): {
  state: string | undefined
  iss: string | undefined
} {
  const query = queryParams(req)
  const response = query.get('response')
  if (response === null) {
    return { state: query.get('state') ?? undefined, iss: query.get('iss') ?? undefined }
  }
  try {
    const payload = decodeJwt(response)
    return {
      state: typeof payload.state === 'string' ? payload.state : undefined,
      iss: typeof payload.iss === 'string' ? payload.iss : undefined,
    }
  } catch {
    return { state: undefined, iss: undefined }
  }
}

/** One router for a set of servers: the shared login, the callbacks, each server's other routes. */
export function createServersRouter<Req extends IncomingMessage, Res extends ServerResponse>(
  members: ServerMembers<Req, Res>,
  select: ServerSelector<Req>,
): Middleware<Req, Res> {
  return function fapiServersRouter(req, res, next) {
    const path = requestPath(req)
    const method = req.method ?? ''
    if (members.loginPaths.has(path) && (method === 'GET' || method === 'HEAD')) {
      let name: string | undefined
      try {
        name = select(req)
      } catch (error) {
        next(toFapiError(error))
        return
      }
      if (name === undefined) {
        next(unknownServer())
        return
      }
      members.named(name).then(
        (member) => {
          if (member.core.paths.login !== path) next(unknownServer())
          else member.login(req, res, next)
        },
        (error: unknown) => next(toFapiError(error)),
      )
      return
    }
    if (members.callbackPaths.has(path) && (method === 'GET' || method === 'POST')) {
      callbackMember(req, members).then(
        (member) => {
          if (member === undefined) next(transactionNotFound())
          else member.callback(req, res, next)
        },
        (error: unknown) => next(toFapiError(error)),
      )
      return
    }
    // The other routes (request objects by reference) of the servers that serve this path, in
    // turn: an app request elsewhere does not walk every bank of a large set.
    if (![...members.requestObjectPaths].some((objects) => path.startsWith(`${objects}/`))) {
      next()
      return
    }
    const known = members.known().filter((member) => {
      const objects = member.core.paths.requestObjects
      return objects !== undefined && path.startsWith(`${objects}/`)
    })
    let index = 0
    const step = (error?: unknown): void => {
      const member = known[index]
      index += 1
      if (error !== undefined || member === undefined) next(error)
      else member.rest(req, res, step)
    }
    step()
  }
}

function transactionNotFound(): FapiError {
  return new SessionError(
    'ERR_TRANSACTION_NOT_FOUND',
    'no pending login in this session matches the response "state" (used already, or started in another browser)',
  )
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
