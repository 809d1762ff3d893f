/**
 * Authorization server metadata (OpenID Connect Discovery 1.0, RFC 8414): fetched once, checked
 * against what this client needs, cached. A failure is not cached: the next request tries again.
 *
 * @module
 */
import type { Config, JwsAlgorithm } from '../config.js'
import { isAllowedServerUrl } from '../config.js'
import { ServerResponseError } from '../errors.js'
import { requestJson } from './http.js'
import type { SigningKey } from './keys.js'

/** The metadata this client uses, checked. Internal. */
export interface ServerMetadata {
  readonly issuer: string
  readonly authorizationEndpoint: string
  readonly tokenEndpoint: string
  readonly jwksUri: string
  readonly parEndpoint: string | undefined
  readonly endSessionEndpoint: string | undefined
  /** Algorithms accepted for JARM responses: the profile's, as far as the server advertises them. */
  readonly jarmAlgorithms: readonly JwsAlgorithm[]
  /** Algorithms accepted for ID tokens: the profile's, as far as the server advertises them. */
  readonly idTokenAlgorithms: readonly JwsAlgorithm[]
  /** The key that signs request objects and client assertions: its alg is advertised for both. */
  readonly signingKey: SigningKey
}

function invalid(message: string): ServerResponseError {
  return new ServerResponseError('ERR_DISCOVERY_INVALID', 502, `discovery: ${message}`)
}

function endpoint(
  metadata: Record<string, unknown>,
  name: string,
  config: Config,
  required: true,
): string
function endpoint(
  metadata: Record<string, unknown>,
  name: string,
  config: Config,
  required: false,
): string | undefined
function endpoint(
  metadata: Record<string, unknown>,
  name: string,
  config: Config,
  required: boolean,
): string | undefined {
  const value = metadata[name]
  if (value === undefined && !required) return undefined
  if (typeof value !== 'string') throw invalid(`"${name}" is missing or not a string`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalid(`"${name}" is not an absolute URL`)
  }
  if (!isAllowedServerUrl(url, config.allowInsecureLoopback) || url.hash !== '') {
    throw invalid(`"${name}" must be an https URL without a fragment`)
  }
  return value
}

function stringList(
  metadata: Record<string, unknown>,
  name: string,
): readonly string[] | undefined {
  const value = metadata[name]
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw invalid(`"${name}" must be an array of strings`)
  }
  return value as string[]
}

function allowedAdvertised(
  metadata: Record<string, unknown>,
  name: string,
  config: Config,
): readonly JwsAlgorithm[] {
  const advertised = stringList(metadata, name)
  if (advertised === undefined) {
    throw invalid(`"${name}" is not advertised; the server must list the algorithms it signs with`)
  }
  const usable = config.allowedAlgorithms.filter((alg) => advertised.includes(alg))
  if (usable.length === 0) {
    throw invalid(
      `"${name}" advertises none of ${config.allowedAlgorithms.join(', ')} (profile "${config.profile}")`,
    )
  }
  return usable
}

/**
 * Checks a metadata document against the configuration, in this order: exact `issuer`
 * (Discovery §4.3, FAPI 2.0 §5.3.3.1 (11)), endpoints, the response mode, PKCE S256, client
 * authentication with `private_key_jwt`, and the algorithms.
 */
export function checkMetadata(metadata: Record<string, unknown>, config: Config): ServerMetadata {
  if (metadata.issuer !== config.issuer) {
    throw new ServerResponseError(
      'ERR_DISCOVERY_ISSUER_MISMATCH',
      502,
      `discovery: metadata "issuer" does not equal the configured issuer "${config.issuer}"`,
    )
  }
  const authorizationEndpoint = endpoint(metadata, 'authorization_endpoint', config, true)
  const tokenEndpoint = endpoint(metadata, 'token_endpoint', config, true)
  const jwksUri = endpoint(metadata, 'jwks_uri', config, true)
  const parEndpoint = endpoint(metadata, 'pushed_authorization_request_endpoint', config, false)
  const endSessionEndpoint = endpoint(metadata, 'end_session_endpoint', config, false)
  if (config.par && parEndpoint === undefined) {
    throw invalid('"pushed_authorization_request_endpoint" is missing and PAR is on')
  }
  if (!config.par && metadata.require_pushed_authorization_requests === true) {
    throw invalid('the server requires PAR; set pushedAuthorizationRequests: true')
  }

  const modes = stringList(metadata, 'response_modes_supported') ?? ['query', 'fragment']
  if (!modes.includes(config.responseMode)) {
    throw invalid(`"response_modes_supported" does not include "${config.responseMode}"`)
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
  if (!authMethods.includes('private_key_jwt')) {
    throw invalid('"token_endpoint_auth_methods_supported" does not include "private_key_jwt"')
  }

  const requestObjectAlgs = allowedAdvertised(
    metadata,
    'request_object_signing_alg_values_supported',
    config,
  )
  const assertionAlgs = allowedAdvertised(
    metadata,
    'token_endpoint_auth_signing_alg_values_supported',
    config,
  )
  const signingKey = config.signingKeys.find(
    (key) => requestObjectAlgs.includes(key.alg) && assertionAlgs.includes(key.alg),
  )
  if (signingKey === undefined) {
    throw invalid(
      `no configured signing key uses an algorithm the server accepts for both request objects (${requestObjectAlgs.join(', ')}) and client assertions (${assertionAlgs.join(', ')})`,
    )
  }

  return Object.freeze({
    issuer: config.issuer,
    authorizationEndpoint,
    tokenEndpoint,
    jwksUri,
    parEndpoint,
    endSessionEndpoint,
    jarmAlgorithms: allowedAdvertised(
      metadata,
      'authorization_signing_alg_values_supported',
      config,
    ),
    idTokenAlgorithms: allowedAdvertised(metadata, 'id_token_signing_alg_values_supported', config),
    signingKey,
  })
}

/** The metadata URL of an issuer: `/.well-known/openid-configuration` appended to its path. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
}

/** Fetched-once, shared, failure-forgetting discovery for one client. Internal. */
export class Discovery {
  readonly #config: Config
  #pending: Promise<ServerMetadata> | undefined
  /** How many metadata documents were fetched; for tests and the benchmark. */
  fetches = 0

  constructor(config: Config) {
    this.#config = config
  }

  /** The checked metadata; one fetch shared by all concurrent callers. */
  get(): Promise<ServerMetadata> {
    this.#pending ??= this.#load().catch((error: unknown) => {
      this.#pending = undefined
      throw error
    })
    return this.#pending
  }

  async #load(): Promise<ServerMetadata> {
    this.fetches += 1
    const { status, body } = await requestJson(
      discoveryUrl(this.#config.issuer),
      { method: 'GET' },
      this.#config,
      'discovery',
    )
    if (status !== 200)
      throw new ServerResponseError('ERR_AS_HTTP_STATUS', 502, `discovery: HTTP ${status}`)
    return checkMetadata(body, this.#config)
  }
}
