/**
 * The coordination store: what several instances of one app must agree on (an authorization
 * response used once, one refresh in flight per login, the servers' DPoP nonces), as four
 * primitives that Redis has natively (`SET NX PX`, `GET`, `SET PX`, compare-and-delete in Lua).
 * The in-memory store (`memory.ts`) is the default and serves one process; `redisCoordination()`
 * (`redis.ts`) serves many. The interface itself is the option's shape, in `config/coordination.ts`.
 *
 * A store that cannot answer rejects with `ERR_COORDINATION_UNAVAILABLE` (503): the caller then
 * fails closed (no token request, no refresh), and never acts twice.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { CoordinationError } from '../../errors.js'

export type { Coordination } from '../../config/coordination.js'

/** The store could not be reached or did not answer in time. */
export function coordinationUnavailable(cause?: unknown): CoordinationError {
  return new CoordinationError(
    'ERR_COORDINATION_UNAVAILABLE',
    'the coordination store is unavailable; try again shortly',
    cause,
  )
}

/** A store key for a secret value (a state, a refresh token): its SHA-256, never the value. */
export function keyOf(kind: string, secret: string): string {
  return `${kind}:${createHash('sha256').update(secret).digest('base64url')}`
}
