/**
 * The login's place in the session of `express-session` (Connect middleware, so Express and
 * Connect alike): typed (`SessionData` augmented, never cast to any), namespaced under `fapi`, and
 * the promise forms of `save`, `regenerate` and `destroy`.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { SessionLogin } from '../core/flows/stored-login.js'
import type { TransactionMap } from '../core/flows/transaction.js'
import type {} from 'express-session'
import { SessionError } from '../errors.js'

/** express-fapi's part of the session. */
export interface FapiSessionData {
  /** Pending logins by `state`. */
  transactions?: TransactionMap
  /** The logged-in user, after a successful callback (tokens sealed with `sessionSecrets`). */
  login?: SessionLogin
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

/** The request's session, or `ERR_SESSION_MISSING` when express-session is not mounted before us. */
export function requireSession(req: IncomingMessage): FapiSession {
  const { session } = req as IncomingMessage & { session?: FapiSession | null }
  if (session === undefined || session === null) {
    throw new SessionError(
      'ERR_SESSION_MISSING',
      500,
      'no session on the request: mount express-session before express-fapi',
    )
  }
  return session
}

function storeFailure(action: string, cause: unknown): SessionError {
  return new SessionError(
    'ERR_SESSION_STORE',
    500,
    `the session store failed to ${action} the session`,
    { cause },
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
