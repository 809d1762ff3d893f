/**
 * The login's place in the session of `express-session` (Connect middleware, so Express and
 * Connect alike): typed (`SessionData` augmented, never cast to any), namespaced under `fapi`, and
 * the promise forms of `save`, `regenerate` and `destroy`.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { TransactionMap } from '../core/flows/transaction.js'
import type {} from 'express-session'
import { SessionError } from '../errors.js'

/** express-fapi's part of the session. */
export interface FapiSessionData {
  /** Pending logins by `state`. */
  transactions?: TransactionMap
  /** The id of this server's grant, after a successful callback (the grant is in the grant store). */
  grant?: string
}

declare module 'express-session' {
  interface SessionData {
    /** express-fapi's namespace. */
    fapi?: FapiSessionData
  }
}

/** What express-fapi uses of an express-session session. */
export interface FapiSession {
  fapi?: FapiSessionData
  /** express-session's cookie of this session (its `maxAge` in milliseconds, or null). */
  cookie?: { maxAge?: number | null | undefined }
  save(callback: (error?: unknown) => void): unknown
  regenerate(callback: (error?: unknown) => void): unknown
  destroy(callback: (error?: unknown) => void): unknown
}

/** The clients made in this process, by session key (their parts survive a new session id). */
const namespaces = new Map<string, Set<FapiCore>>()

/** Records a client's session key, so that a login of another client keeps its part. */
export function registerNamespace(core: FapiCore): void {
  let cores = namespaces.get(core.sessionKey)
  if (cores === undefined) namespaces.set(core.sessionKey, (cores = new Set()))
  cores.add(core)
}

/**
 * Forgets a client that is gone (a bank evicted from `fapiClients()`'s cache): its key stays
 * known, so the session part it left (a pending login, a grant reference) survives a new session id.
 */
export function unregisterNamespace(core: FapiCore): void {
  namespaces.get(core.sessionKey)?.delete(core)
}

/** Key prefixes of clients that may not exist in this process yet (banks resolved on demand). */
const prefixes = new Set<string>()

/** Keeps the session parts under keys starting with `prefix` across a new session id. */
export function registerNamespacePrefix(prefix: string): void {
  prefixes.add(prefix)
}

function isNamespace(key: string): boolean {
  if (namespaces.has(key)) return true
  for (const prefix of prefixes) if (key.startsWith(prefix)) return true
  return false
}

/**
 * How a client of a `fapiClients()` set with a resolver finds the set's bank of a session key:
 * `undefined` when the key is no bank of the set, else the bank's name, its client when it is in
 * the cache now, and how to create it again (evicted, or created only on another instance). Kept
 * per client, so a logout only ever creates banks of its own set.
 */
export type KeyResolver = (key: string) =>
  | {
      readonly name: string
      readonly cached: FapiCore | undefined
      create(): Promise<FapiCore>
    }
  | undefined

const keyResolvers = new WeakMap<FapiCore, KeyResolver>()

/** Records how `core`'s set creates the client of a session key again. */
export function registerKeyResolver(core: FapiCore, resolver: KeyResolver): void {
  keyResolvers.set(core, resolver)
}

/** `core`'s set's {@link KeyResolver}, when it has banks resolved on demand. */
export function keyResolverOf(core: FapiCore): KeyResolver | undefined {
  return keyResolvers.get(core)
}

/** The clients whose parts a session may hold (several apps of one process may share a key). */
export function registeredClients(): ReadonlyMap<string, ReadonlySet<FapiCore>> {
  return namespaces
}

/** A client's part of the session (`req.session[sessionKey]`; `fapi` by default). */
export function partOf(session: FapiSession, key: string): FapiSessionData | undefined {
  const value = (session as unknown as Record<string, unknown>)[key]
  return typeof value === 'object' && value !== null ? (value as FapiSessionData) : undefined
}

/** Replaces a client's part of the session. */
export function setPart(session: FapiSession, key: string, part: FapiSessionData): void {
  ;(session as unknown as Record<string, unknown>)[key] = part
}

/**
 * Regenerates the session (new id: no fixation) keeping the parts of express-fapi's clients:
 * this client's pending logins (other tabs), and the other clients' parts whole. Resolves with
 * the new session, in which this client's part is what `part` returns (none for `undefined`).
 */
export async function regenerateWithPart(
  req: IncomingMessage,
  key: string,
  part: (kept: FapiSessionData | undefined) => FapiSessionData | undefined,
): Promise<FapiSession> {
  const old = requireSession(req)
  const kept = new Map<string, FapiSessionData>()
  for (const name of Object.keys(old)) {
    const value = isNamespace(name) ? partOf(old, name) : undefined
    if (value !== undefined) kept.set(name, value)
  }
  const session = await regenerateSession(req)
  for (const [name, value] of kept) if (name !== key) setPart(session, name, value)
  const own = part(kept.get(key))
  if (own !== undefined) setPart(session, key, own)
  return session
}

/** The request's session, or `ERR_SESSION_MISSING` when express-session is not mounted before us. */
export function requireSession(req: IncomingMessage): FapiSession {
  const { session } = req as IncomingMessage & { session?: FapiSession | null }
  if (session === undefined || session === null) {
    throw new SessionError(
      'ERR_SESSION_MISSING',
      'no session on the request: mount express-session before express-fapi',
    )
  }
  return session
}

function storeFailure(action: string, cause: unknown): SessionError {
  return new SessionError(
    'ERR_SESSION_STORE',
    `the session store failed to ${action} the session`,
    cause,
  )
}

function call(session: FapiSession, action: 'save' | 'regenerate' | 'destroy'): Promise<void> {
  return new Promise((resolve, reject) => {
    session[action]((error?: unknown) => (error ? reject(storeFailure(action, error)) : resolve()))
  })
}

/** `session.save()` as a promise; a store failure is `ERR_SESSION_STORE`. */
export function saveSession(session: FapiSession): Promise<void> {
  return call(session, 'save')
}

/** `session.destroy()` as a promise; a store failure is `ERR_SESSION_STORE`. */
export function destroySession(session: FapiSession): Promise<void> {
  return call(session, 'destroy')
}

/** `req.session.regenerate()` as a promise; resolves with the new session. */
export async function regenerateSession(req: IncomingMessage): Promise<FapiSession> {
  await call(requireSession(req), 'regenerate')
  return requireSession(req)
}
