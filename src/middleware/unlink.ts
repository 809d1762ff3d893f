/**
 * Unlinking one server from a session: its grant ends in the grant store (its tokens revoked,
 * RFC 7009), and the session drops its reference; the other servers' grants stay.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { RevocationOutcome } from '../core/flows/revocation.js'
import { toFapiError } from '../errors.js'
import { forgetGrantReads, grantIdOf } from './grants.js'
import { partOf, requireSession, saveSession, setPart } from './session.js'

/** Ends the session's grant at `core`'s server and forgets it in the session. */
export async function unlinkGrant(
  core: FapiCore,
  req: IncomingMessage,
): Promise<RevocationOutcome> {
  try {
    const session = requireSession(req)
    const id = grantIdOf(session, core.sessionKey)
    if (id === undefined) return 'no-login'
    const outcome = await core.endGrant(id)
    const { grant: _grant, ...rest } = partOf(session, core.sessionKey) ?? {}
    void _grant
    setPart(session, core.sessionKey, rest)
    forgetGrantReads(req)
    await saveSession(session)
    return outcome
  } catch (error) {
    throw toFapiError(error)
  }
}
