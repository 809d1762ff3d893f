/**
 * Client authentication at the PAR and token endpoints (FAPI 2.0 §5.3.3.1 (2)):
 * - `private_key_jwt` (RFC 7523, OIDC Core §9), as FAPI 2.0 §5.3.3.1 (5) wants it: `iss` = `sub` =
 *   client_id, `aud` = the issuer identifier as a string (or, where the profile allows
 *   `clientAssertionAudience: 'endpoint'`, the URL the assertion is posted to), a fresh `jti` for
 *   every assertion, `iat` = `nbf` (RFC 7523 §3 makes `nbf` optional; some servers require it) and
 *   a short lifetime;
 * - `tls_client_auth` / `self_signed_tls_client_auth` (RFC 8705 §2): the client certificate on the
 *   connection, and only `client_id` in the form;
 * - under profile `oidc` only, the client secret (OIDC Core §9): `client_secret_basic` (RFC 6749
 *   §2.3.1, an `Authorization: Basic` header of the form-encoded id and secret),
 *   `client_secret_post` (the secret in the form) and `client_secret_jwt` (an HS256 assertion
 *   keyed with the secret, with the same claims as `private_key_jwt`'s).
 *
 * What was sent is remembered beside each form (never the secret), so that a refusal can say what
 * to check.
 *
 * @module
 */
import { createHmac } from 'node:crypto'
import type { ClientAssertionAudience, ClientAuthMethod } from '../../config/options.js'
import type { ClientSecret } from '../../config/client-secret.js'
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
  return signJwt(options.key, assertionClaims(options.clientId, options.audience, options.now))
}

function assertionClaims(clientId: string, audience: string, now: number) {
  const iat = Math.floor(now / 1000)
  return {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: randomToken(),
    iat,
    nbf: iat,
    exp: iat + ASSERTION_LIFETIME,
  }
}

/** An HS256 assertion keyed with the client secret (`client_secret_jwt`, OIDC Core §9). */
export function signSecretAssertion(options: {
  clientId: string
  audience: string
  secret: ClientSecret
  now: number
}): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(assertionClaims(options.clientId, options.audience, options.now))}`
  const mac = createHmac('sha256', options.secret.reveal()).update(input).digest('base64url')
  return `${input}.${mac}`
}

/** Whether a method authenticates with the client certificate (RFC 8705 §2). */
export function usesClientCertificate(method: ClientAuthMethod): boolean {
  return method === 'tls_client_auth' || method === 'self_signed_tls_client_auth'
}

/** Whether a method authenticates with a client secret (OIDC Core §9; profile `oidc` only). */
export function usesClientSecret(method: ClientAuthMethod): boolean {
  return method.startsWith('client_secret_')
}

/** RFC 6749 §2.3.1: the id and the secret are form-encoded (Appendix B) before Basic encoding. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2)
}

interface Sent {
  /** The `Authorization` header (`client_secret_basic`), else none. */
  readonly authorization: string | undefined
  /** What to check when the server refuses this authentication. */
  readonly checks: string
}

// What each form's client authentication was; forms are built afresh for each attempt.
const sent = new WeakMap<URLSearchParams, Sent>()

/** Extra headers the client authentication of `form` needs (`Authorization` for Basic). */
export function clientAuthenticationHeaders(form: URLSearchParams): Record<string, string> {
  const authorization = sent.get(form)?.authorization
  return authorization === undefined ? {} : { authorization }
}

/** What to check when the server refuses the client authentication of `form`. */
export function clientAuthenticationChecks(form: URLSearchParams): string {
  return (
    sent.get(form)?.checks ??
    'check the client authentication method and credentials registered at the server'
  )
}

const CLOCK = '"nbf", "iat" and "exp" within its clock (is this machine\'s clock right?)'

function checksFor(
  method: ClientAuthMethod,
  audience: ClientAssertionAudience,
  aud: string,
  clientId: string,
): string {
  const client = `the client_id "${clientId}" registered there with token_endpoint_auth_method "${method}"`
  switch (method) {
    case 'private_key_jwt':
      return `check ${client}; the assertion's "aud" (sent: ${audience === 'endpoint' ? 'the endpoint URL' : 'the issuer'} "${aud}"; option clientAssertionAudience: the issuer, or the endpoint URL where the profile allows it, since some servers accept only one of them); ${CLOCK}; the registered public key (kid, jwks or jwks_uri) and signing algorithm (token_endpoint_auth_signing_alg)`
    case 'client_secret_jwt':
      return `check ${client}; the client secret; the assertion's "aud" (sent: "${aud}"; option clientAssertionAudience: the issuer or the endpoint URL); ${CLOCK}; HS256 as token_endpoint_auth_signing_alg`
    case 'client_secret_basic':
    case 'client_secret_post':
      return `check ${client} and the client secret (option clientSecret)`
    default:
      return `check ${client} and the registered certificate (tls_client_auth_subject_dn, or the certificate in its jwks for self_signed_tls_client_auth)`
  }
}

/**
 * Adds client authentication to a form posted to `endpoint`: `client_id`, then, for
 * `private_key_jwt` and `client_secret_jwt`, `client_assertion_type` and a fresh
 * `client_assertion`; for `client_secret_post` the `client_secret`; for `client_secret_basic` an
 * `Authorization` header (read with {@link clientAuthenticationHeaders}); for the mTLS methods
 * nothing more (RFC 8705 §2: the certificate authenticates, and the caller presents it).
 */
export async function addClientAuthentication(
  form: URLSearchParams,
  client: {
    readonly clientAuthMethod: ClientAuthMethod
    readonly clientAssertionAudience: ClientAssertionAudience
    readonly clientId: string
    readonly issuer: string
    readonly clientSecret?: ClientSecret | undefined
    readonly now: () => number
  },
  key: SigningKey | SigningKeySource | undefined,
  endpoint: string,
): Promise<URLSearchParams> {
  const method = client.clientAuthMethod
  const aud = client.clientAssertionAudience === 'endpoint' ? endpoint : client.issuer
  let authorization: string | undefined
  form.set('client_id', client.clientId)
  if (method === 'private_key_jwt') {
    if (key === undefined) throw new TypeError('private_key_jwt needs a signing key')
    form.set('client_assertion_type', JWT_BEARER)
    form.set(
      'client_assertion',
      await signClientAssertion({
        clientId: client.clientId,
        audience: aud,
        key,
        now: client.now(),
      }),
    )
  } else if (usesClientSecret(method)) {
    const secret = client.clientSecret
    if (secret === undefined) throw new TypeError(`${method} needs a client secret`)
    if (method === 'client_secret_post') form.set('client_secret', secret.reveal())
    if (method === 'client_secret_jwt') {
      form.set('client_assertion_type', JWT_BEARER)
      form.set(
        'client_assertion',
        signSecretAssertion({
          clientId: client.clientId,
          audience: aud,
          secret,
          now: client.now(),
        }),
      )
    }
    if (method === 'client_secret_basic') {
      // RFC 6749 §2.3.1: the credentials go in the header only; client_id stays in the form
      // where a request needs it (PAR), and the server checks that the two agree.
      const credentials = `${formEncode(client.clientId)}:${formEncode(secret.reveal())}`
      authorization = `Basic ${Buffer.from(credentials).toString('base64')}`
    }
  }
  sent.set(form, {
    authorization,
    checks: checksFor(method, client.clientAssertionAudience, aud, client.clientId),
  })
  return form
}
