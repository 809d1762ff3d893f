/**
 * A grant's transitions, each one atomic in the grant store: created after a login, read (its
 * record opened, and checked to be this client's at this issuer), ended (then its tokens
 * revoked). Refreshes are in `flows/refresh.ts` (compare-and-set on the generation).
 *
 * @module
 */
import type { ClientContext } from '../flows/context.js'
import { revokeLogin, type RevocationOutcome } from '../flows/revocation.js'
import { ENDED_LIFETIME, loginRequired } from './grant.js'
import { grantOf, recordOf, type ActiveGrant, type Grant } from './record.js'

/** Stores a new grant; resolves with it. */
export async function createGrant(
  context: ClientContext,
  grant: ActiveGrant,
): Promise<ActiveGrant> {
  const record = await recordOf(grant, context.config.sessionSecrets)
  // A random 256-bit id is never taken; a store that says so is refused like a failure.
  if (!(await context.grants.create(record))) throw loginRequired()
  return grant
}

/**
 * The grant `id` (active or ended) when it is a grant of this client at this issuer whose record
 * opens, else `undefined` (an id from a session is untrusted: anything but a short string is none).
 */
export async function readGrant(context: ClientContext, id: unknown): Promise<Grant | undefined> {
  if (typeof id !== 'string' || id === '' || id.length > 128) return undefined
  const grant = await grantOf(await context.grants.get(id), context.config.sessionSecrets)
  const { config } = context
  if (grant === undefined || grant.id !== id) return undefined
  if (grant.issuer !== config.issuer || grant.clientId !== config.clientId) return undefined
  return grant
}

/** The active grant `id`, or `ERR_LOGIN_REQUIRED`. */
export async function activeGrant(context: ClientContext, id: unknown): Promise<ActiveGrant> {
  const grant = await readGrant(context, id)
  if (grant?.status !== 'active') throw loginRequired()
  return grant
}

/**
 * Ends the grant `id` (status `ended` in the store, for every instance at once), then revokes its
 * tokens (RFC 7009). Only the caller that ended it revokes; an unknown or ended grant is
 * `no-login`. Never rejects for the server's sake; rejects when the store cannot be used.
 */
export async function endGrant(context: ClientContext, id: unknown): Promise<RevocationOutcome> {
  const grant = await readGrant(context, id)
  if (grant?.status !== 'active') return 'no-login'
  const now = context.config.now()
  const ended = await context.grants.end(grant.id, now, now + ENDED_LIFETIME)
  if (ended === undefined) return 'no-login'
  const opened = await grantOf(ended, context.config.sessionSecrets)
  return revokeLogin(context, opened?.status === 'active' ? opened : undefined)
}
