/**
 * The client metadata of a registration request (RFC 7591 §2), derived from the client's
 * configuration so that what is registered is what the client does: its redirect URI, its
 * public keys (`jwks_uri`, or `jwks` by value), its client authentication, response type and
 * modes, the algorithms it signs request objects with and accepts JARM responses and ID tokens
 * in (among those the server offers), its token binding (DPoP, RFC 9449 §5.2; mTLS, RFC 8705
 * §3.4), for `tls_client_auth`, its certificate's subject (RFC 8705 §2.1.2), and its
 * back-channel logout URI where the app gives one and the server supports back-channel logout.
 *
 * @module
 */
import { X509Certificate } from 'node:crypto'
import type { Config, JwsAlgorithm } from '../../config/index.js'
import { ServerResponseError } from '../../errors.js'
import type { SigningKeySource } from '../jwt/sign.js'

/** What the app adds to the derived metadata. */
export interface MetadataInput {
  /** The public URL of the client's `jwks()` route; without it, the keys are sent by value. */
  readonly jwksUri?: string | undefined
  /** The client certificate (PEM), for `tls_client_auth_subject_dn`. */
  readonly certificate?: string | Buffer | undefined
  /** More metadata (`client_name`, `contacts`, …); may not override what is derived. */
  readonly extra?: Readonly<Record<string, unknown>> | undefined
  /** The absolute URL of the client's back-channel logout route (Back-Channel Logout §2.2). */
  readonly backchannelLogoutUri?: string | undefined
}

/** The names the client derives itself; `metadata` may not set them. */
export const DERIVED = [
  'redirect_uris',
  'response_types',
  'grant_types',
  'response_modes',
  'scope',
  'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg',
  'jwks',
  'jwks_uri',
  'request_object_signing_alg',
  'authorization_signed_response_alg',
  'id_token_signed_response_alg',
  'dpop_bound_access_tokens',
  'tls_client_certificate_bound_access_tokens',
  'tls_client_auth_subject_dn',
  'software_statement',
  'backchannel_logout_uri',
  'backchannel_logout_session_required',
  'client_id',
  'client_secret',
] as const

/** The first algorithm the profile allows that the server lists, if any. */
function offered(
  config: Config,
  server: Readonly<Record<string, unknown>>,
  name: string,
): JwsAlgorithm | undefined {
  const listed = server[name]
  if (!Array.isArray(listed)) return undefined
  return config.allowedAlgorithms.find((candidate) => listed.includes(candidate))
}

/** The first algorithm the profile allows that the server lists (or the first allowed). */
function preferred(
  config: Config,
  server: Readonly<Record<string, unknown>>,
  name: string,
): JwsAlgorithm {
  const listed = server[name]
  const offered = Array.isArray(listed) ? listed : undefined
  const alg =
    offered === undefined
      ? config.allowedAlgorithms[0]
      : config.allowedAlgorithms.find((candidate) => offered.includes(candidate))
  if (alg === undefined) {
    throw new ServerResponseError(
      'ERR_DISCOVERY_INVALID',
      `registration: the server's "${name}" lists none of ${config.allowedAlgorithms.join(', ')}`,
    )
  }
  return alg
}

/** RFC 4514: the subject's attributes, most specific first, as the server compares them. */
export function subjectDn(certificate: string | Buffer): string {
  return new X509Certificate(certificate).subject.split('\n').reverse().join(',')
}

/**
 * Back-Channel Logout §2.2: the URI where the server supports back-channel logout (discovery
 * §2.1, default false); a session id asked for where the server can send one (`sid` ends this
 * login's grants only, `sub` alone every grant of the user at the server).
 */
function backchannelLogout(
  server: Readonly<Record<string, unknown>>,
  uri: string | undefined,
): Record<string, unknown> {
  if (uri === undefined || server.backchannel_logout_supported !== true) return {}
  return {
    backchannel_logout_uri: uri,
    ...(server.backchannel_logout_session_supported === true
      ? { backchannel_logout_session_required: true }
      : {}),
  }
}

/**
 * The registration metadata for `config`, given the server's metadata; `signing` is the key the
 * client's request objects and client assertions are signed with.
 */
export function registrationMetadata(
  config: Config,
  server: Readonly<Record<string, unknown>>,
  input: MetadataInput,
  signing: SigningKeySource,
): Record<string, unknown> {
  const method = config.clientAuthMethod
  const key = config.requestObject || method === 'private_key_jwt' ? signing.current() : undefined
  const keys = [
    ...config.signingKeys.map((signing) => signing.publicJwk),
    ...config.encryptionKeys.map((encryption) => encryption.publicJwk),
    ...(method === 'self_signed_tls_client_auth' && config.certificateJwk !== undefined
      ? [config.certificateJwk]
      : []),
  ]
  const metadata: Record<string, unknown> = {
    ...input.extra,
    redirect_uris: [config.redirectUri],
    response_types: ['code'],
    // Refresh tokens where the server offers them (consents last months).
    grant_types: [
      'authorization_code',
      ...(Array.isArray(server.grant_types_supported) &&
      server.grant_types_supported.includes('refresh_token')
        ? ['refresh_token']
        : []),
    ],
    response_modes: [...config.responseModes],
    scope: config.scope,
    token_endpoint_auth_method: method,
    id_token_signed_response_alg: preferred(
      config,
      server,
      'id_token_signing_alg_values_supported',
    ),
  }
  if (method === 'private_key_jwt' && key !== undefined) {
    metadata.token_endpoint_auth_signing_alg = key.alg
  }
  if (method === 'client_secret_jwt') metadata.token_endpoint_auth_signing_alg = 'HS256'
  if (input.jwksUri !== undefined) metadata.jwks_uri = input.jwksUri
  else if (keys.length > 0) metadata.jwks = { keys }
  if (config.requestObject && key !== undefined) metadata.request_object_signing_alg = key.alg
  // Without JARM too: oidc-provider, say, registers RS256 when it is not given, and refuses
  // the registration when RS256 is not enabled.
  const jarmAlg = config.jarm
    ? preferred(config, server, 'authorization_signing_alg_values_supported')
    : offered(config, server, 'authorization_signing_alg_values_supported')
  if (jarmAlg !== undefined) metadata.authorization_signed_response_alg = jarmAlg
  if (config.senderConstraint === 'dpop') metadata.dpop_bound_access_tokens = true
  if (config.senderConstraint === 'mtls') metadata.tls_client_certificate_bound_access_tokens = true
  if (method === 'tls_client_auth') {
    // Checked at startup by fapiRegistration().
    if (input.certificate === undefined) throw new TypeError('tls_client_auth needs tls.cert')
    metadata.tls_client_auth_subject_dn = subjectDn(input.certificate)
  }
  Object.assign(metadata, backchannelLogout(server, input.backchannelLogoutUri))
  return metadata
}
