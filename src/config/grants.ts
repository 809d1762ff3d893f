/**
 * The shape of the `grants` option: the grant store, where finished logins live server-side (the
 * implementations are in `core/grants/`), checked once at startup.
 *
 * @module
 */
import { failOption as fail } from '../errors.js'

/** A grant's state: `active` (usable), or `ended` (logged out, unlinked, ended by the server). */
export type GrantStatus = 'active' | 'ended'

/**
 * One grant as a store keeps it: the fields a store indexes and compares, readable, and `body`
 * (claims, tokens, DPoP key, granted `authorization_details`): JSON, or a JWE sealed with
 * `sessionSecrets` whose protected header binds every readable field but the status and times.
 * An ended grant's body is empty.
 */
export interface GrantRecord {
  /** A random id, unguessable: what the session and the app keep. */
  readonly id: string
  readonly issuer: string
  readonly clientId: string
  /** The ID token's `sub` at `issuer`. */
  readonly sub: string
  /** The ID token's `sid`, when the server sent one (back-channel logout finds grants by it). */
  readonly sid?: string
  /** The app's user (or the identity server's) this grant belongs to. */
  readonly owner?: string
  readonly status: GrantStatus
  /** How many refreshes made the current tokens (0 after the login); every update adds one. */
  readonly generation: number
  /** Milliseconds since the epoch. */
  readonly createdAt: number
  /** Milliseconds since the epoch. */
  readonly updatedAt: number
  /** Milliseconds since the epoch after which the store may forget the record. */
  readonly expiresAt: number
  /** The rest of the grant, JSON or sealed; `''` once ended. */
  readonly body: string
}

/** What grants can be looked up by: (issuer, `sid`), (issuer, `sub`), or owner. */
export type GrantQuery =
  | { readonly issuer: string; readonly sid: string }
  | { readonly issuer: string; readonly sub: string }
  | { readonly owner: string }

/**
 * The grant store (see `memoryGrantStore()` and `redisGrantStore()`; `grantStoreContract()` of
 * `express-fapi/testing` checks an implementation). Every transition is atomic in the store;
 * a method that cannot reach the store rejects (with `ERR_GRANT_STORE_UNAVAILABLE` preferably).
 */
export interface GrantStore {
  /** The record of `id` (active or ended), or `undefined` (unknown, or forgotten after `expiresAt`). */
  get(id: string): Promise<GrantRecord | undefined>
  /** Stores a new record: `true`, or `false` when `record.id` is taken (nothing changed). */
  create(record: GrantRecord): Promise<boolean>
  /**
   * Compare-and-set: replaces the record of `record.id` only while it is `active` at generation
   * `generation` (`record.generation` is then `generation + 1`): `true`, else `false`.
   */
  update(record: GrantRecord, generation: number): Promise<boolean>
  /**
   * Ends the grant `id` when it is active: its status becomes `ended`, its body `''`, its
   * `updatedAt` `endedAt`, and it is kept until `keepUntil`. Resolves with the active record it
   * replaced (its tokens are revoked next), or `undefined` when it was not active (only one of
   * many concurrent calls gets the record).
   */
  end(id: string, endedAt: number, keepUntil: number): Promise<GrantRecord | undefined>
  /** The ids of the grants (active or ended, not forgotten) that match `query`. */
  find(query: GrantQuery): Promise<readonly string[]>
}

/** Validates `grants`: undefined, or an object with the five methods. */
export function resolveGrantStore(value: unknown): GrantStore | undefined {
  if (value === undefined) return undefined
  const store = value as Record<string, unknown> | null
  if (
    typeof store !== 'object' ||
    store === null ||
    !['get', 'create', 'update', 'end', 'find'].every((name) => typeof store[name] === 'function')
  ) {
    fail(
      'grants',
      'must be a grant store: memoryGrantStore() or redisGrantStore(client), or an object with get, create, update, end and find',
    )
  }
  return value as GrantStore
}
