/**
 * A pending login ("transaction"): everything the callback needs to finish it, as plain data that
 * any session store can serialise. Keyed by `state`, so several tabs can log in at once; bounded in
 * count and age; taken (read and deleted) exactly once.
 *
 * @module
 */
import { isDpopKey, type DpopKey } from '../jwt/dpop.js'
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

/** Pending logins by state. */
export type TransactionMap = Record<string, Transaction>

/**
 * Returns a new map with `transaction` added, expired entries dropped, and at most `max` entries
 * (the oldest dropped first). The input is not modified.
 */
export function addTransaction(
  map: Readonly<TransactionMap> | undefined,
  transaction: Transaction,
  limits: { max: number; maxAgeMs: number; now: number },
): TransactionMap {
  const live = Object.values(map ?? {}).filter(
    (entry) => isTransaction(entry) && limits.now - entry.createdAt <= limits.maxAgeMs,
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

/**
 * The states this process has consumed recently. Sessions are copied per request, so two parallel
 * deliveries of one response can both find the transaction; the first to claim its state wins.
 * Bounded in size and age.
 */
export class ConsumedStates {
  readonly #seen = new Map<string, number>()
  readonly #maxAgeMs: number
  readonly #capacity: number

  constructor(maxAgeMs: number, capacity = 10_000) {
    this.#maxAgeMs = maxAgeMs
    this.#capacity = capacity
  }

  /** True the first time a state is claimed (within the age window), false afterwards. */
  claim(state: string, now: number): boolean {
    const seen = this.#seen.get(state)
    if (seen !== undefined && now - seen <= this.#maxAgeMs) return false
    this.#seen.delete(state)
    this.#seen.set(state, now)
    for (const [oldest, at] of this.#seen) {
      if (this.#seen.size <= this.#capacity && now - at <= this.#maxAgeMs) break
      this.#seen.delete(oldest)
    }
    return true
  }
}
