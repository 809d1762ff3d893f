/**
 * Readers of single authorization server metadata fields (RFC 8414, OpenID Connect Discovery),
 * each narrowing untrusted JSON and failing with `ERR_DISCOVERY_INVALID` and the field's name.
 *
 * @module
 */
import type { Config, JwsAlgorithm } from '../../config/index.js'
import { isAllowedServerUrl } from '../../config/index.js'
import { ServerResponseError } from '../../errors.js'

/** A metadata failure. */
export function invalid(message: string): ServerResponseError {
  return new ServerResponseError('ERR_DISCOVERY_INVALID', `discovery: ${message}`)
}

/** An endpoint URL: absolute, https (or http on loopback when allowed), no fragment. */
export function endpointUrl(value: unknown, name: string, config: Config): string {
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

/** A required endpoint. */
export function endpoint(metadata: Record<string, unknown>, name: string, config: Config): string {
  return endpointUrl(metadata[name], name, config)
}

/** An optional endpoint. */
export function optionalEndpoint(
  metadata: Record<string, unknown>,
  name: string,
  config: Config,
): string | undefined {
  return metadata[name] === undefined ? undefined : endpointUrl(metadata[name], name, config)
}

/** An optional array of strings. */
export function stringList(
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

/** The profile's algorithms that the server advertises under `name`, in the profile's order. */
export function allowedAdvertised(
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
 * `mtls_endpoint_aliases` (RFC 8705 §5): the endpoints to use with the client certificate, by
 * metadata name. Absent: the usual endpoints serve mTLS too.
 */
export function mtlsAliases(
  metadata: Record<string, unknown>,
  config: Config,
): Readonly<Record<string, string>> {
  const value = metadata.mtls_endpoint_aliases
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('"mtls_endpoint_aliases" must be an object')
  }
  const aliases: Record<string, string> = {}
  for (const [name, url] of Object.entries(value)) {
    aliases[name] = endpointUrl(url, `mtls_endpoint_aliases.${name}`, config)
  }
  return aliases
}

/** An endpoint the client certificate is presented to: https only. */
export function certificateEndpoint(url: string, name: string): string {
  if (new URL(url).protocol !== 'https:') {
    throw invalid(`"${name}" is used with the client certificate (mTLS) and must be https`)
  }
  return url
}
