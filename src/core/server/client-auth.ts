/**
 * Client authentication at the PAR and token endpoints (FAPI 2.0 §5.3.3.1 (2)):
 * - `private_key_jwt` (RFC 7523, OIDC Core §9), as FAPI 2.0 §5.3.3.1 (5) wants it: `iss` = `sub` =
 *   client_id, `aud` = the issuer identifier as a string (or, where the profile allows
 *   `clientAssertionAudience: 'endpoint'`, the URL the assertion is posted to), a fresh `jti` for
 *   every assertion, `iat` = `nbf` (RFC 7523 §3 makes `nbf` optional; some servers require it) and
 *   a short lifetime;
 * - `tls_client_auth` / `self_signed_tls_client_auth` (RFC 8705 §2): the client certificate on the
 *   connection, and only `client_id` in the form.
 *
 * @module
 */
import type { ClientAssertionAudience, ClientAuthMethod } from '../../config/options.js'
import { signJwt, type SigningKeySource } from '../jwt/sign.js'
import { randomToken } from '../jwt/random.js'
import type { SigningKey } from '../../config/keys.js'

/** The `client_assertion_type` of a JWT assertion. */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Lifetime of an assertion in seconds. */
const ASSERTION_LIFETIME = 60

/** Signs a fresh client assertion for `audience`. `now` is in milliseconds. */
export function signClientAssertion(options: {
  clientId: string
  audience: string
  key: SigningKey | SigningKeySource
  now: number
}): Promise<string> {
  const iat = Math.floor(options.now / 1000)
  return signJwt(options.key, {
    iss: options.clientId,
    sub: options.clientId,
    aud: options.audience,
    jti: randomToken(),
    iat,
    nbf: iat,
    exp: iat + ASSERTION_LIFETIME,
  })
}

/** Whether a method authenticates with the client certificate (RFC 8705 §2). */
export function usesClientCertificate(method: ClientAuthMethod): boolean {
  return method !== 'private_key_jwt'
}

/**
 * Adds client authentication to a form posted to `endpoint`: `client_id`, then, for
 * `private_key_jwt`, `client_assertion_type` and a fresh `client_assertion`; for the mTLS methods
 * nothing more (RFC 8705 §2: the certificate authenticates, and the caller presents it).
 */
export async function addClientAuthentication(
  form: URLSearchParams,
  client: {
    readonly clientAuthMethod: ClientAuthMethod
    readonly clientAssertionAudience: ClientAssertionAudience
    readonly clientId: string
    readonly issuer: string
    readonly now: () => number
  },
  key: SigningKey | SigningKeySource | undefined,
  endpoint: string,
): Promise<URLSearchParams> {
  form.set('client_id', client.clientId)
  if (client.clientAuthMethod !== 'private_key_jwt') return form
  if (key === undefined) throw new TypeError('private_key_jwt needs a signing key')
  form.set('client_assertion_type', JWT_BEARER)
  form.set(
    'client_assertion',
    await signClientAssertion({
      clientId: client.clientId,
      audience: client.clientAssertionAudience === 'endpoint' ? endpoint : client.issuer,
      key,
      now: client.now(),
    }),
  )
  return form
}
