/**
 * Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4) minted by a hostile server with its
 * own keys: a good one by default, or one that breaks exactly one rule of §2.6.
 */
import { randomUUID } from 'node:crypto'
import type { JWTPayload } from 'jose'
import type { JwtMutation } from './hostile-jwt.js'
import type { HostileServer } from './hostile-server.js'

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** A logout token of `as` for `clientId` naming `who`, tampered with by `mutation`. */
export function logoutToken(
  as: HostileServer,
  clientId: string,
  who: { sid?: string; sub?: string },
  mutation: JwtMutation = {},
  header: Record<string, unknown> = { typ: 'logout+jwt' },
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000)
  const claims: JWTPayload = {
    iss: as.issuer,
    aud: clientId,
    iat,
    exp: iat + 120,
    jti: randomUUID(),
    events: { [LOGOUT_EVENT]: {} },
    ...who,
  }
  return as.signJwt(claims, mutation, header)
}
