/**
 * A pending login ("transaction"): everything the callback needs to finish it, as plain data that
 * any session store can serialise. Keyed by `state`, so several tabs can log in at once; bounded in
 * count and age; taken (read and deleted) exactly once.
 *
 * @module
 */
import type { SessionSecrets } from '../../config/index.js'
import { isDpopKey, type DpopKey } from '../jwt/dpop.js'
import { seal, unseal } from '../jwt/seal.js'
import type { AuthorizationDetail } from '../server/authorization-details.js'

/** One pending login. */
export interface Transaction {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  readonly redirectUri: string
  readonly responseMode: string
  readonly issuer: string
  readonly clientId: string
  readonly returnTo: string
  /** Milliseconds since the epoch. */
  readonly createdAt: number
  /** The login's DPoP key (RFC 9449), when tokens are DPoP-bound: its thumbprint was sent. */
  readonly dpopKey?: DpopKey
  /** The `max_age` requested, in seconds: the ID token's `auth_time` is held to it. */
  readonly maxAge?: number
  /** The `acr` values requested as essential: the ID token's `acr` must be one of them. */
  readonly acr?: readonly string[]
  /** The id of this login in `onEvent` events (random, not the state). */
  readonly traceId?: string
  /** The `authorization_details` asked for (RFC 9396): what the grant is held to. */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
  /** Claims asked for as essential with a `value` (OIDC Core §5.5.1): the ID token must carry them. */
  readonly claimValues?: Readonly<Record<string, unknown>>
}

/** Pending logins by state (sealed with `sessionSecrets`). */
export type TransactionMap = Record<string, PendingEntry>

/**
 * Returns a new map with `transaction` added, expired entries dropped, and at most `max` entries
 * (the oldest dropped first). The input is not modified.
 */
export function addTransaction(
  map: Readonly<TransactionMap> | undefined,
  transaction: PendingEntry,
  limits: { max: number; maxAgeMs: number; now: number },
): TransactionMap {
  const live = Object.values(map ?? {}).filter(
    (entry) => isPendingEntry(entry) && limits.now - entry.createdAt <= limits.maxAgeMs,
  )
  live.sort((a, b) => a.createdAt - b.createdAt)
  const kept = live.slice(Math.max(0, live.length - (limits.max - 1)))
  const next: TransactionMap = {}
  for (const entry of kept) next[entry.state] = entry
  next[transaction.state] = transaction
  return next
}

/** Narrows untrusted session content to a transaction. */
export function isTransaction(value: unknown): value is Transaction {
  if (typeof value !== 'object' || value === null) return false
  const entry = value as Record<string, unknown>
  return (
    typeof entry.state === 'string' &&
    typeof entry.nonce === 'string' &&
    typeof entry.codeVerifier === 'string' &&
    typeof entry.redirectUri === 'string' &&
    typeof entry.responseMode === 'string' &&
    typeof entry.issuer === 'string' &&
    typeof entry.clientId === 'string' &&
    typeof entry.returnTo === 'string' &&
    typeof entry.createdAt === 'number' &&
    (entry.dpopKey === undefined || isDpopKey(entry.dpopKey)) &&
    (entry.maxAge === undefined ||
      (typeof entry.maxAge === 'number' && Number.isInteger(entry.maxAge) && entry.maxAge >= 0)) &&
    (entry.acr === undefined ||
      (Array.isArray(entry.acr) && entry.acr.every((value) => typeof value === 'string'))) &&
    (entry.traceId === undefined || typeof entry.traceId === 'string') &&
    (entry.authorizationDetails === undefined || Array.isArray(entry.authorizationDetails)) &&
    (entry.claimValues === undefined ||
      (typeof entry.claimValues === 'object' && entry.claimValues !== null))
  )
}

/** A pending login with its secrets (nonce, PKCE verifier, DPoP key) sealed: `sessionSecrets`. */
export interface SealedTransaction {
  readonly state: string
  /** Milliseconds since the epoch. */
  readonly createdAt: number
  readonly sealed: string
}

/** What the session's map of pending logins holds. */
export type PendingEntry = Transaction | SealedTransaction

/** Narrows untrusted session content to a pending login, sealed or not. */
export function isPendingEntry(value: unknown): value is PendingEntry {
  if (isTransaction(value)) return true
  if (typeof value !== 'object' || value === null) return false
  const entry = value as Record<string, unknown>
  return (
    typeof entry.state === 'string' &&
    typeof entry.createdAt === 'number' &&
    typeof entry.sealed === 'string'
  )
}

/** The entry to keep in the session: the whole transaction sealed when `sessionSecrets` is set. */
export async function sealTransaction(
  transaction: Transaction,
  secrets: SessionSecrets | undefined,
): Promise<PendingEntry> {
  if (secrets === undefined) return transaction
  return {
    state: transaction.state,
    createdAt: transaction.createdAt,
    sealed: seal(secrets, transaction, `transaction:${transaction.state}`),
  }
}

/** The transaction of a session entry (opened when sealed), or `undefined` when unusable. */
export async function openTransaction(
  entry: unknown,
  secrets: SessionSecrets | undefined,
): Promise<Transaction | undefined> {
  if (isTransaction(entry)) return entry
  if (secrets === undefined || !isPendingEntry(entry)) return undefined
  const sealed = entry as SealedTransaction
  const opened = unseal(secrets, sealed.sealed, `transaction:${sealed.state}`)
  return isTransaction(opened) && opened.state === sealed.state ? opened : undefined
}
