/**
 * The login's place in `express-session`: typed (`SessionData` augmented, never cast to any),
 * namespaced under `fapi`, and the promise forms of `save`, `regenerate`.
 *
 * @module
 */
import type { Request } from 'express'
import type { Session, SessionData } from 'express-session'
import { SessionError } from '../errors.js'
import type { DpopKey } from '../core/jwt/dpop.js'
import type { TransactionMap } from '../core/flows/transaction.js'

/** What a completed login keeps in the session. */
export interface StoredLogin {
  readonly issuer: string
  readonly clientId: string
  readonly claims: Readonly<Record<string, unknown>>
  /** The login's DPoP key (RFC 9449) when its tokens are DPoP-bound. Keep the session server-side. */
  readonly dpopKey?: DpopKey
  readonly tokens: {
    readonly accessToken: string
    /** `DPoP` for DPoP-bound tokens, else `Bearer` (also when certificate-bound). */
    readonly tokenType: string
    readonly idToken: string
    readonly refreshToken?: string
    /** Milliseconds since the epoch. */
    readonly expiresAt?: number
    readonly scope: string
  }
  /** Milliseconds since the epoch. */
  readonly loggedInAt: number
}

/** express-fapi's part of the session. */
export interface FapiSessionData {
  /** Pending logins by `state`. */
  transactions?: TransactionMap
  /** The logged-in user, after a successful callback. */
  login?: StoredLogin
}

declare module 'express-session' {
  interface SessionData {
    /** express-fapi's namespace. */
    fapi?: FapiSessionData
  }
}

/** The request's session, or `ERR_SESSION_MISSING` when express-session is not mounted before us. */
export function requireSession(req: Request): Session & Partial<SessionData> {
  const session = (req as Request & { session?: Session & Partial<SessionData> }).session
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

/** `session.save()` as a promise; a store failure is `ERR_SESSION_STORE`. */
export function saveSession(session: Session): Promise<void> {
  return new Promise((resolve, reject) => {
    session.save((error?: unknown) => (error ? reject(storeFailure('save', error)) : resolve()))
  })
}

/** `req.session.regenerate()` as a promise; resolves with the new session. */
export function regenerateSession(req: Request): Promise<Session & Partial<SessionData>> {
  const session = requireSession(req)
  return new Promise((resolve, reject) => {
    session.regenerate((error?: unknown) => {
      if (error) reject(storeFailure('regenerate', error))
      else resolve(requireSession(req))
    })
  })
}
