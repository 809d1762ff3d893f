/**
 * The grant store: where finished logins live, server-side, keyed by grant id and found by
 * (issuer, `sid`), (issuer, `sub`) and owner. Every transition is atomic in the store (create,
 * compare-and-set on the generation, end); the session only refers to a grant by its id. The
 * in-memory store (`memory.ts`) is the default and serves one process; `redisGrantStore()`
 * (`redis.ts`) serves many. The interface itself is the option's shape, in `config/grants.ts`.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { CoordinationError } from '../../errors.js'

export type { GrantQuery, GrantRecord, GrantStatus, GrantStore } from '../../config/grants.js'

/** The grant store could not be reached or did not answer in time. */
export function grantStoreUnavailable(cause?: unknown): CoordinationError {
  return new CoordinationError(
    'ERR_GRANT_STORE_UNAVAILABLE',
    'the grant store is unavailable; try again shortly',
    cause,
  )
}

/** The index key of a lookup: a hash of its parts (never a `sub` or `sid` in clear). */
export function indexKey(kind: 'sid' | 'sub' | 'owner', ...parts: readonly string[]): string {
  return `${kind}:${createHash('sha256').update(parts.join('\n')).digest('base64url')}`
}

/** The index keys of a record: (issuer, sid), (issuer, sub), owner. */
export function indexKeysOf(record: {
  readonly issuer: string
  readonly sub: string
  readonly sid?: string
  readonly owner?: string
}): string[] {
  return [
    indexKey('sub', record.issuer, record.sub),
    ...(record.sid === undefined ? [] : [indexKey('sid', record.issuer, record.sid)]),
    ...(record.owner === undefined ? [] : [indexKey('owner', record.owner)]),
  ]
}

/** The index key of a query. */
export function queryKey(
  query: { issuer: string; sid: string } | { issuer: string; sub: string } | { owner: string },
): string {
  if ('owner' in query) return indexKey('owner', query.owner)
  if ('sid' in query) return indexKey('sid', query.issuer, query.sid)
  return indexKey('sub', query.issuer, query.sub)
}
