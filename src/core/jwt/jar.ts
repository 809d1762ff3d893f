/**
 * The signed request object (RFC 9101 JAR) that carries every authorization parameter, as FAPI 1.0
 * Advanced §5.2.3 and FAPI 2.0 Message Signing ask: explicit type `oauth-authz-req+jwt`,
 * `iss` = client_id, `aud` = the issuer, `nbf`, `exp` at most 60 minutes after `nbf`, `iat`, `jti`,
 * and no `sub`, `request` or `request_uri` (JAR §4, §10.8).
 *
 * @module
 */
import { signJwt } from './sign.js'
import type { SigningKeySource } from './sign.js'
import type { SigningKey } from '../../config/keys.js'
import { randomToken } from './random.js'

/** The `typ` of a request object (JAR §4). */
export const REQUEST_OBJECT_TYPE = 'oauth-authz-req+jwt'

/**
 * Signs a request object whose claims are `params` (every authorization parameter, JAR §4) plus
 * `iss` = client_id, `aud` = the issuer, `iat`, `nbf`, `exp` and a fresh `jti`. `now` is in
 * milliseconds, `lifetime` in seconds (≤ 3600).
 */
export function signRequestObject(options: {
  params: Readonly<Record<string, unknown>>
  clientId: string
  issuer: string
  key: SigningKey | SigningKeySource
  now: number
  lifetime: number
}): Promise<string> {
  const now = Math.floor(options.now / 1000)
  return signJwt(
    options.key,
    {
      ...options.params,
      iss: options.clientId,
      aud: options.issuer,
      iat: now,
      nbf: now,
      exp: now + options.lifetime,
      jti: randomToken(),
    },
    REQUEST_OBJECT_TYPE,
  )
}
