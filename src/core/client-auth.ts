/**
 * `private_key_jwt` client authentication (RFC 7523, OIDC Core §9), as FAPI 2.0 §5.3.3.1 (5) wants
 * it: `iss` = `sub` = client_id, `aud` = the issuer identifier as a string, a fresh `jti` for every
 * assertion, a short lifetime.
 *
 * @module
 */
import { signJwt } from './sign.js'
import { randomToken } from './random.js'
import type { SigningKey } from './keys.js'

/** The `client_assertion_type` of a JWT assertion. */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Lifetime of an assertion in seconds. */
const ASSERTION_LIFETIME = 60

/** Signs a fresh client assertion. `now` is in milliseconds. */
export function signClientAssertion(options: {
  clientId: string
  issuer: string
  key: SigningKey
  now: number
}): Promise<string> {
  const iat = Math.floor(options.now / 1000)
  return signJwt(options.key, {
    iss: options.clientId,
    sub: options.clientId,
    aud: options.issuer,
    jti: randomToken(),
    iat,
    exp: iat + ASSERTION_LIFETIME,
  })
}

/** Adds `client_id`, `client_assertion_type` and a fresh `client_assertion` to a form. */
export async function addClientAuthentication(
  form: URLSearchParams,
  options: Parameters<typeof signClientAssertion>[0],
): Promise<URLSearchParams> {
  form.set('client_id', options.clientId)
  form.set('client_assertion_type', JWT_BEARER)
  form.set('client_assertion', await signClientAssertion(options))
  return form
}
