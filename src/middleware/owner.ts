/**
 * The session's owner (no fixation across servers): the app's own user (`principal(req)`), or the
 * identity (issuer, `sub`) at the identity server. A login at the identity server establishes the
 * owner; a login at another server links to it (its grant records that owner) and is refused when
 * the session has none. Whatever a login establishes, the session keeps no grant of another owner:
 * a planted session cookie cannot hand its grants to the user who logs in with it.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { ActiveGrant } from '../core/grants/record.js'
import { FapiError } from '../errors.js'
import { currentGrant, forgetGrantReads, grantIdOf } from './grants.js'
import { partOf, registeredClients, setPart, type FapiSession } from './session.js'

/** How a client's logins find the session's owner. */
export interface OwnerPolicy {
  /** The app's own user of a request: when set, the owner is always it. */
  readonly principal?: (req: IncomingMessage) => string | undefined
  /** The identity server, when it is another client (`undefined`: this client is its own). */
  readonly identity?: FapiCore
}

const policies = new WeakMap<FapiCore, OwnerPolicy>()

/** Sets how `core`'s logins find the session's owner (by `fapiClients()`). */
export function setOwnerPolicy(core: FapiCore, policy: OwnerPolicy): void {
  policies.set(core, policy)
}

/** The owner of an identity at a server: `JSON.stringify([issuer, sub])`. */
export function identityOwner(issuer: string, sub: string): string {
  return JSON.stringify([issuer, sub])
}

function noOwner(detail: string): FapiError {
  return new FapiError(
    'ERR_LOGIN_OWNER_MISSING',
    `this login links a server to the session's owner, and the session has none: ${detail}`,
  )
}

/**
 * The grant each callback request's session referred to at its server as it arrived: the
 * regeneration that takes the pending login drops that reference, and {@link keepOwnedGrants}
 * must still end it when another owner's login replaces it.
 */
const previousGrants = new WeakMap<IncomingMessage, string>()

/**
 * The app's own user of the callback request, read as it arrives (before the session is
 * regenerated): `undefined` when the client has no `principal` option. Notes the session's
 * grant at `core`'s server at that moment too, for {@link keepOwnedGrants}.
 */
export function principalOf(
  core: FapiCore,
  req: IncomingMessage,
): { principal: unknown } | undefined {
  const { session } = req as IncomingMessage & { session?: FapiSession | null }
  const previous = session == null ? undefined : grantIdOf(session, core.sessionKey)
  if (previous !== undefined) previousGrants.set(req, previous)
  const policy = policies.get(core)
  return policy?.principal === undefined ? undefined : { principal: policy.principal(req) }
}

/**
 * The owner a finished login at `core`'s server links to, or `ERR_LOGIN_OWNER_MISSING` when it
 * links to an owner and the session has none.
 */
export async function ownerOfLogin(
  core: FapiCore,
  req: IncomingMessage,
  grant: ActiveGrant,
  app: { principal: unknown } | undefined,
): Promise<string> {
  const policy = policies.get(core) ?? {}
  if (app !== undefined) {
    const { principal } = app
    if (typeof principal !== 'string' || principal === '') {
      throw noOwner('principal(req) named no user; sign the user in to the app first')
    }
    return principal
  }
  if (policy.identity === undefined) return identityOwner(grant.issuer, grant.sub)
  forgetGrantReads(req)
  const identity = await currentGrant(policy.identity, req)
  if (identity === undefined) {
    throw noOwner(`log in at the identity server ${policy.identity.issuer} first`)
  }
  return identity.owner ?? identityOwner(identity.issuer, identity.sub)
}

/**
 * Checked when a login starts (before any request to the server, so the user is not sent to the
 * bank for nothing): a login that will link to the session's owner needs one, else
 * `ERR_LOGIN_OWNER_MISSING`. The callback checks again ({@link ownerOfLogin}): the owner may
 * have gone while the user was at the bank.
 */
export async function requireOwnerAtStart(core: FapiCore, req: IncomingMessage): Promise<void> {
  const policy = policies.get(core) ?? {}
  if (policy.principal !== undefined) {
    const principal = policy.principal(req)
    if (typeof principal !== 'string' || principal === '') {
      throw noOwner('principal(req) named no user; sign the user in to the app first')
    }
    return
  }
  if (policy.identity === undefined) return
  forgetGrantReads(req)
  if ((await currentGrant(policy.identity, req)) === undefined) {
    throw noOwner(`log in at the identity server ${policy.identity.issuer} first`)
  }
}

/**
 * Drops from the session every grant reference (this client's previous one included) whose grant is not `owner`'s (or
 * is no longer active): a login that establishes another owner starts a fresh session. A dropped
 * grant is also ended in the grant store and its tokens revoked (best effort, as at logout): it
 * is the previous owner's, and nothing (`auth.grant(id)` included) may use it after another
 * identity took the session.
 */
export async function keepOwnedGrants(
  req: IncomingMessage,
  session: FapiSession,
  key: string,
  owner: string,
): Promise<void> {
  forgetGrantReads(req)
  for (const [name, cores] of registeredClients()) {
    // This client's previous grant too (the regeneration dropped its reference): ended unless owned.
    const id = name === key ? previousGrants.get(req) : grantIdOf(session, name)
    if (id === undefined) continue
    let kept = false
    for (const core of cores) {
      // Each client reads its own store (several apps of one process may share a key).
      const grant = kept ? undefined : await core.currentGrant(id).catch(() => undefined)
      if (grant !== undefined && grant.issuer === core.issuer && grant.owner === owner) kept = true
    }
    if (!kept) {
      const { grant: _dropped, ...rest } = partOf(session, name) ?? {}
      void _dropped
      setPart(session, name, rest)
      // Only the client whose grant it is ends it; a store or server failure does not stop the login.
      await Promise.all([...cores].map((core) => core.endGrant(id).catch(() => undefined)))
    }
  }
  forgetGrantReads(req)
}
