/**
 * Checks of the server's answer to a registration, read or update (RFC 7591 §3.2.1, RFC 7592
 * §3): a `client_id`; the management pair (`registration_access_token` with
 * `registration_client_uri`) whole or absent; and no change the profile forbids to what was
 * asked. The server may change metadata (RFC 7591 §3.2.1), but a client that then authenticated,
 * signed or bound tokens other than its profile requires would not be the client configured: a
 * weaker or different auth method, an algorithm the profile does not allow, a lost token binding,
 * a redirect URI dropped. Each is `ERR_REGISTRATION_INVALID`, naming the field.
 *
 * @module
 */
import type { Config } from '../../config/index.js'
import { isAllowedServerUrl } from '../../config/urls.js'
import { ServerResponseError, printable } from '../../errors.js'

/** What a checked answer gives the client. */
export interface CheckedAnswer {
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly registrationAccessToken: string | undefined
  readonly registrationClientUri: string | undefined
  /** The registered metadata, without the secret and the access token. */
  readonly metadata: Readonly<Record<string, unknown>>
}

function invalid(message: string): ServerResponseError {
  return new ServerResponseError('ERR_REGISTRATION_INVALID', `registration: ${message}`)
}

const ALG_FIELDS = [
  'request_object_signing_alg',
  'authorization_signed_response_alg',
  'id_token_signed_response_alg',
] as const

function checkUnchanged(
  answer: Readonly<Record<string, unknown>>,
  asked: Readonly<Record<string, unknown>>,
  config: Config,
): void {
  const method = answer.token_endpoint_auth_method
  // RFC 7591 §2: absent means client_secret_basic, which FAPI never allows.
  if ((method ?? 'client_secret_basic') !== asked.token_endpoint_auth_method) {
    throw invalid(
      `the server registered token_endpoint_auth_method "${printable(String(method ?? 'client_secret_basic'), 60)}", not the "${String(asked.token_endpoint_auth_method)}" asked for (profile "${config.profile}")`,
    )
  }
  const allowed: readonly string[] =
    config.clientAuthMethod === 'client_secret_jwt'
      ? [...config.allowedAlgorithms, 'HS256']
      : config.allowedAlgorithms
  const authAlg = answer.token_endpoint_auth_signing_alg
  if (authAlg !== undefined && (typeof authAlg !== 'string' || !allowed.includes(authAlg))) {
    throw invalid(
      `token_endpoint_auth_signing_alg "${printable(String(authAlg), 30)}" is not allowed (${allowed.join(', ')})`,
    )
  }
  for (const field of ALG_FIELDS) {
    const value = answer[field]
    // Only what this client uses: a JARM alg without JARM, say, changes nothing it does.
    if (asked[field] === undefined) continue
    if (field === 'authorization_signed_response_alg' && !config.jarm) continue
    if (typeof value !== 'string' || !config.allowedAlgorithms.includes(value as never)) {
      throw invalid(
        `${field} ${value === undefined ? 'is missing' : `"${printable(String(value), 30)}" is not allowed`}: profile "${config.profile}" allows ${config.allowedAlgorithms.join(', ')}`,
      )
    }
  }
  const redirects = answer.redirect_uris
  if (!Array.isArray(redirects) || !redirects.includes(config.redirectUri)) {
    throw invalid(`redirect_uris does not include the client's redirectUri "${config.redirectUri}"`)
  }
  for (const binding of [
    'dpop_bound_access_tokens',
    'tls_client_certificate_bound_access_tokens',
  ]) {
    if (asked[binding] === true && answer[binding] !== true) {
      throw invalid(
        `${binding} is not true: the server dropped the token binding the profile needs`,
      )
    }
  }
  const logout = asked.backchannel_logout_uri
  if (logout !== undefined && answer.backchannel_logout_uri !== logout) {
    throw invalid(
      `backchannel_logout_uri is ${answer.backchannel_logout_uri === undefined ? 'missing' : `"${printable(String(answer.backchannel_logout_uri), 120)}"`}, not the "${String(logout)}" asked for: the bank's logouts would not reach this client`,
    )
  }
  const types = answer.response_types
  if (types !== undefined && (!Array.isArray(types) || !types.includes('code'))) {
    throw invalid('response_types does not include "code"')
  }
}

function optionalString(answer: Readonly<Record<string, unknown>>, name: string) {
  const value = answer[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw invalid(`"${name}" is not a string`)
  return value
}

/** Checks an answer against what was asked; `clientId` when it must stay the same (RFC 7592). */
export function checkAnswer(
  answer: Readonly<Record<string, unknown>>,
  asked: Readonly<Record<string, unknown>>,
  config: Config,
  clientId?: string,
): CheckedAnswer {
  const id = answer.client_id
  if (typeof id !== 'string' || id === '') {
    throw invalid('the answer has no "client_id" (RFC 7591 §3.2.1)')
  }
  if (clientId !== undefined && id !== clientId) {
    throw invalid(`the answer names client_id "${printable(id, 80)}", not "${clientId}"`)
  }
  checkUnchanged(answer, asked, config)
  const token = optionalString(answer, 'registration_access_token')
  const uri = optionalString(answer, 'registration_client_uri')
  if ((token === undefined) !== (uri === undefined)) {
    throw invalid(
      'registration_access_token and registration_client_uri come together (RFC 7592 §3)',
    )
  }
  if (uri !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(uri)
    } catch {
      url = undefined
    }
    if (url === undefined || !isAllowedServerUrl(url, config.allowInsecureLoopback)) {
      throw invalid('registration_client_uri is not an https URL')
    }
  }
  const secret = optionalString(answer, 'client_secret')
  if (config.clientAuthMethod.startsWith('client_secret_') && secret === undefined) {
    throw invalid(
      `no client_secret, which token_endpoint_auth_method "${config.clientAuthMethod}" needs`,
    )
  }
  const metadata = { ...answer }
  delete metadata.client_secret
  delete metadata.registration_access_token
  return {
    clientId: id,
    clientSecret: secret,
    registrationAccessToken: token,
    registrationClientUri: uri,
    metadata: Object.freeze(metadata),
  }
}
