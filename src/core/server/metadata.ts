/**
 * The authorization server's metadata checked against what this client's configuration needs, in
 * this order: exact `issuer` (Discovery §4.3, FAPI 2.0 §5.3.3.1 (11)), endpoints (with the mTLS
 * aliases where the client certificate is used, RFC 8705 §5), PAR, the response mode and RFC 9207
 * `iss`, PKCE S256, client authentication, sender-constrained tokens (DPoP or mTLS), request-object
 * encryption, and the algorithms.
 *
 * @module
 */
import type { Config, JwsAlgorithm } from '../../config/index.js'
import { ServerResponseError, fapiError, printable } from '../../errors.js'
import { usesClientCertificate } from './client-auth.js'
import { aliasKey } from './resource.js'
import { DPOP_ALGORITHMS, type DpopAlgorithm } from '../jwt/dpop.js'
import type { KeyManagementAlgorithm } from '../../config/encryption-keys.js'
import { CONTENT_ENCRYPTION, KEY_MANAGEMENT } from '../jwt/encryption.js'
import { acceptedKeySource, type SigningKeySource } from '../jwt/sign.js'
import {
  allowedAdvertised,
  certificateEndpoint,
  endpoint,
  invalid,
  mtlsAliases,
  optionalEndpoint,
  stringList,
} from './metadata-fields.js'

/** How request objects are encrypted to the server (JAR §4), when they are. */
export interface RequestObjectEncryption {
  /** Key management algorithms, preferred first; the server's enc key decides among them. */
  readonly algorithms: readonly KeyManagementAlgorithm[]
  readonly enc: (typeof CONTENT_ENCRYPTION)[number]
}

/** The metadata this client uses, checked. Internal. */
export interface ServerMetadata {
  readonly issuer: string
  readonly authorizationEndpoint: string
  /** The token endpoint to call: its mTLS alias when the client certificate is presented. */
  readonly tokenEndpoint: string
  readonly jwksUri: string
  /** The PAR endpoint to call: its mTLS alias under mTLS client authentication. */
  readonly parEndpoint: string | undefined
  readonly endSessionEndpoint: string | undefined
  /** Resource URLs to call at their mTLS alias instead (e.g. `userinfo_endpoint`). */
  readonly resourceAliases: Readonly<Record<string, string>>
  /** Algorithms accepted for JARM responses (none when the response is plain). */
  readonly jarmAlgorithms: readonly JwsAlgorithm[]
  /** Algorithms accepted for ID tokens: the profile's, as far as the server advertises them. */
  readonly idTokenAlgorithms: readonly JwsAlgorithm[]
  /**
   * The key that signs request objects and client assertions, when either is used: the first
   * `active` key whose algorithm the server accepts, chosen at each signature (key rotation).
   */
  readonly signingKey: SigningKeySource | undefined
  /** The algorithm of the DPoP keys, when tokens are DPoP-bound. */
  readonly dpopAlgorithm: DpopAlgorithm | undefined
  /** RFC 9207 §3: the server promises `iss` in every authorization response. */
  readonly issParameter: boolean
  readonly requestObjectEncryption: RequestObjectEncryption | undefined
  /** RFC 9396 §10: the `authorization_details` types the server understands (none if unlisted). */
  readonly authorizationDetailsTypes: readonly string[] | undefined
  /** OIDC Core §5.3: the userinfo endpoint, at its mTLS alias for certificate-bound tokens. */
  readonly userinfoEndpoint: string | undefined
  /** RFC 7009 §2: the revocation endpoint, at its mTLS alias when the certificate is presented. */
  readonly revocationEndpoint: string | undefined
  /** RFC 9101 §5.2, OIDC Discovery §3: the server fetches request objects by reference. */
  readonly requestUriParameter: boolean
}

function dpopAlgorithm(metadata: Record<string, unknown>, config: Config): DpopAlgorithm {
  const advertised = stringList(metadata, 'dpop_signing_alg_values_supported')
  if (advertised === undefined) {
    throw invalid(
      '"dpop_signing_alg_values_supported" is missing: the server does not support DPoP (RFC 9449 §5.1); set senderConstraint "mtls", or "none" to opt out',
    )
  }
  const usable = DPOP_ALGORITHMS.find(
    (alg) => advertised.includes(alg) && config.allowedAlgorithms.includes(alg),
  )
  if (usable === undefined) {
    throw invalid(`"dpop_signing_alg_values_supported" lists none of ${DPOP_ALGORITHMS.join(', ')}`)
  }
  return usable
}

function requestObjectEncryption(metadata: Record<string, unknown>): RequestObjectEncryption {
  const algs = stringList(metadata, 'request_object_encryption_alg_values_supported') ?? []
  const encs = stringList(metadata, 'request_object_encryption_enc_values_supported') ?? []
  const algorithms = KEY_MANAGEMENT.filter((alg) => algs.includes(alg))
  const enc = CONTENT_ENCRYPTION.find((value) => encs.includes(value))
  if (algorithms.length === 0 || enc === undefined) {
    throw invalid(
      `"request_object_encryption_alg_values_supported" / "_enc_values_supported" offer none of ${KEY_MANAGEMENT.join(', ')} / ${CONTENT_ENCRYPTION.join(', ')} (RSA1_5 is never used, FAPI 1.0 Adv §8.6.1)`,
    )
  }
  return { algorithms, enc }
}

function signingKey(
  metadata: Record<string, unknown>,
  config: Config,
): SigningKeySource | undefined {
  const needed: [string, string][] = []
  if (config.requestObject)
    needed.push(['request_object_signing_alg_values_supported', 'request objects'])
  if (config.clientAuthMethod === 'private_key_jwt') {
    needed.push(['token_endpoint_auth_signing_alg_values_supported', 'client assertions'])
  }
  if (needed.length === 0) return undefined
  const lists = needed.map(([name]) => allowedAdvertised(metadata, name, config))
  const accepted = () =>
    needed.map(([, what], i) => `${what} (${(lists[i] ?? []).join(', ')})`).join(' and ')
  const source = acceptedKeySource(config, lists, () =>
    fapiError(
      'ERR_SIGNING_KEY_UNAVAILABLE',
      `no active signing key uses an algorithm the server accepts for ${accepted()}`,
    ),
  )
  try {
    source.current()
  } catch {
    throw invalid(
      `no configured signing key uses an algorithm the server accepts for ${accepted()}`,
    )
  }
  return source
}

/** The server's `issuer` value, quoted and shortened for a message (never trusted). */
function serverIssuer(value: unknown): string {
  return typeof value === 'string' ? `"${printable(value, 200)}"` : `no string (${typeof value})`
}

/** Checks a metadata document against the configuration. */
export function checkMetadata(metadata: Record<string, unknown>, config: Config): ServerMetadata {
  if (metadata.issuer !== config.issuer) {
    throw new ServerResponseError(
      'ERR_DISCOVERY_ISSUER_MISMATCH',
      `discovery: the server's metadata names the issuer ${serverIssuer(metadata.issuer)}, not the configured issuer "${config.issuer}": set issuer to the server's value exactly (scheme, host, port, path and trailing slash)`,
    )
  }
  const aliases = mtlsAliases(metadata, config)
  const certAuth = usesClientCertificate(config.clientAuthMethod)
  const certToken = certAuth || config.senderConstraint === 'mtls'
  const authorizationEndpoint = endpoint(metadata, 'authorization_endpoint', config)
  let tokenEndpoint = endpoint(metadata, 'token_endpoint', config)
  if (certToken)
    tokenEndpoint = certificateEndpoint(aliases.token_endpoint ?? tokenEndpoint, 'token_endpoint')
  const jwksUri = endpoint(metadata, 'jwks_uri', config)
  let parEndpoint = optionalEndpoint(metadata, 'pushed_authorization_request_endpoint', config)
  const endSessionEndpoint = optionalEndpoint(metadata, 'end_session_endpoint', config)
  const userinfo = optionalEndpoint(metadata, 'userinfo_endpoint', config)
  if (config.par && parEndpoint === undefined) {
    throw invalid('"pushed_authorization_request_endpoint" is missing and PAR is on')
  }
  if (certAuth && parEndpoint !== undefined) {
    parEndpoint = certificateEndpoint(
      aliases.pushed_authorization_request_endpoint ?? parEndpoint,
      'pushed_authorization_request_endpoint',
    )
  }
  if (!config.par && metadata.require_pushed_authorization_requests === true) {
    throw invalid('the server requires PAR; set pushedAuthorizationRequests: true')
  }
  const resourceAliases: Record<string, string> = {}
  if (config.senderConstraint === 'mtls' && userinfo !== undefined && aliases.userinfo_endpoint) {
    // RFC 8705 §5: keyed as the lookup keys it, so no spelling of the URL misses the alias.
    resourceAliases[aliasKey(userinfo)] = certificateEndpoint(
      aliases.userinfo_endpoint,
      'userinfo_endpoint',
    )
  }
  let revocationEndpoint = optionalEndpoint(metadata, 'revocation_endpoint', config)
  if (certAuth && revocationEndpoint !== undefined) {
    revocationEndpoint = certificateEndpoint(
      aliases.revocation_endpoint ?? revocationEndpoint,
      'revocation_endpoint',
    )
  }

  const modes = stringList(metadata, 'response_modes_supported') ?? ['query', 'fragment']
  for (const mode of config.responseModes) {
    if (!modes.includes(mode)) {
      throw invalid(`"response_modes_supported" does not include "${mode}"`)
    }
  }
  const issParameter = metadata.authorization_response_iss_parameter_supported === true
  if (!config.jarm && config.profile === 'fapi2-security' && !issParameter) {
    throw invalid(
      '"authorization_response_iss_parameter_supported" is not true: a plain response needs the RFC 9207 "iss" (FAPI 2.0 §5.3.3.2 (5)); use a JARM responseMode',
    )
  }
  if (!(stringList(metadata, 'response_types_supported') ?? []).includes('code')) {
    throw invalid('"response_types_supported" does not include "code"')
  }
  if (!(stringList(metadata, 'code_challenge_methods_supported') ?? []).includes('S256')) {
    throw invalid('"code_challenge_methods_supported" does not include "S256" (PKCE is required)')
  }
  const authMethods = stringList(metadata, 'token_endpoint_auth_methods_supported') ?? [
    'client_secret_basic',
  ]
  if (!authMethods.includes(config.clientAuthMethod)) {
    throw invalid(
      `"token_endpoint_auth_methods_supported" does not include "${config.clientAuthMethod}"`,
    )
  }
  const secretAlgs = stringList(metadata, 'token_endpoint_auth_signing_alg_values_supported')
  if (
    config.clientAuthMethod === 'client_secret_jwt' &&
    secretAlgs !== undefined &&
    !secretAlgs.includes('HS256')
  ) {
    throw invalid(
      '"token_endpoint_auth_signing_alg_values_supported" does not include "HS256", the algorithm of client_secret_jwt assertions; use client_secret_basic or client_secret_post',
    )
  }
  if (
    config.senderConstraint === 'mtls' &&
    metadata.tls_client_certificate_bound_access_tokens !== true
  ) {
    throw invalid(
      '"tls_client_certificate_bound_access_tokens" is not true: the server does not bind tokens to certificates (RFC 8705 §3.3)',
    )
  }

  if (config.requestObjectByReference && metadata.request_uri_parameter_supported === false) {
    throw invalid(
      '"request_uri_parameter_supported" is false: the server does not fetch request objects by reference (RFC 9101 §5.2); set requestObjectByReference: false',
    )
  }
  const key = signingKey(metadata, config)
  return Object.freeze({
    issuer: config.issuer,
    authorizationEndpoint,
    tokenEndpoint,
    jwksUri,
    parEndpoint,
    endSessionEndpoint,
    resourceAliases: Object.freeze(resourceAliases),
    jarmAlgorithms: config.jarm
      ? allowedAdvertised(metadata, 'authorization_signing_alg_values_supported', config)
      : [],
    idTokenAlgorithms: allowedAdvertised(metadata, 'id_token_signing_alg_values_supported', config),
    signingKey: key,
    dpopAlgorithm: config.senderConstraint === 'dpop' ? dpopAlgorithm(metadata, config) : undefined,
    issParameter,
    requestObjectEncryption: config.encryption.requestObject
      ? requestObjectEncryption(metadata)
      : undefined,
    authorizationDetailsTypes: stringList(metadata, 'authorization_details_types_supported'),
    userinfoEndpoint: userinfo,
    revocationEndpoint,
    // OIDC Discovery §3 defaults it to true; FAPI servers usually say false.
    requestUriParameter: metadata.request_uri_parameter_supported !== false,
  })
}
