/**
 * The signed request object (RFC 9101 JAR) that carries every authorization parameter, as FAPI 1.0
 * Advanced §5.2.3 and FAPI 2.0 Message Signing ask: explicit type `oauth-authz-req+jwt`,
 * `iss` = client_id, `aud` = the issuer, `nbf`, `exp` at most 60 minutes after `nbf`, `iat`, `jti`,
 * and no `sub`, `request` or `request_uri` (JAR §4, §10.8).
 *
 * @module
 */
import { signJwt } from './sign.js'
import type { SigningKey } from './keys.js'
import { randomToken } from './random.js'

/** The `typ` of a request object (JAR §4). */
export const REQUEST_OBJECT_TYPE = 'oauth-authz-req+jwt'

/** The authorization parameters of one login. */
export interface AuthorizationParameters {
  readonly clientId: string
  readonly redirectUri: string
  readonly responseMode: string
  readonly scope: string
  readonly state: string
  readonly nonce: string
  readonly codeChallenge: string
  /** Extra parameters (acr_values, claims, prompt, …), already checked not to shadow ours. */
  readonly extra: Readonly<Record<string, unknown>>
}

/** Signs a request object. `now` is in milliseconds, `lifetime` in seconds (≤ 3600). */
export function signRequestObject(options: {
  params: AuthorizationParameters
  issuer: string
  key: SigningKey
  now: number
  lifetime: number
}): Promise<string> {
  const { params } = options
  const now = Math.floor(options.now / 1000)
  return signJwt(
    options.key,
    {
      ...params.extra,
      client_id: params.clientId,
      response_type: 'code',
      response_mode: params.responseMode,
      redirect_uri: params.redirectUri,
      scope: params.scope,
      state: params.state,
      nonce: params.nonce,
      code_challenge: params.codeChallenge,
      code_challenge_method: 'S256',
      iss: params.clientId,
      aud: options.issuer,
      iat: now,
      nbf: now,
      exp: now + options.lifetime,
      jti: randomToken(),
    },
    REQUEST_OBJECT_TYPE,
  )
}
