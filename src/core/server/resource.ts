/**
 * Calls to resource servers with a logged-in user's access token: in the `Authorization` header
 * only, never in a URL (RFC 6750 §2.1, RFC 9700 §4.3, FAPI 2.0 §5.3.3.1 (3)); `DPoP` with a proof
 * that carries `ath` (RFC 9449 §7) and one retry with the server's nonce after a `use_dpop_nonce`
 * challenge (§9); or `Bearer`, over mTLS with the client certificate when the token is bound to it
 * (RFC 8705 §3), at the endpoint's mTLS alias when the server has one.
 *
 * @module
 */
import { FapiError } from '../../errors.js'
import { dpopProof, type DpopKey, type DpopNonces } from '../jwt/dpop.js'
import {
  sendRequest,
  type FailureCodes,
  type HttpOptions,
  type HttpResponse,
} from '../transport/http.js'

/** What an app may pass beside the URL. */
export interface ResourceRequestInit {
  /** Default `GET`. */
  readonly method?: string
  /** Any headers but `Authorization` and `DPoP`, which are set here. */
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Buffer | Uint8Array | URLSearchParams
}

/** A login's access token and what it is bound to. */
export interface BoundToken {
  readonly accessToken: string
  readonly tokenType: 'Bearer' | 'DPoP'
  /** The login's DPoP key: present exactly when `tokenType` is `DPoP`. */
  readonly dpopKey: DpopKey | undefined
  /** The token is certificate-bound: present the client certificate. */
  readonly certificate: boolean
}

/** How resource calls are made. */
export interface ResourceOptions extends HttpOptions {
  readonly nonces: DpopNonces
  readonly now: () => number
  /** Allow `http:` to loopback hosts (development); never with a client certificate. */
  readonly isAllowedUrl: (url: URL) => boolean
  /** Resource URLs (origin and path) to call at an mTLS alias instead. */
  readonly aliases: Readonly<Record<string, string>>
}

const RESOURCE_FAILURES: FailureCodes = {
  timeout: 'ERR_RESOURCE_TIMEOUT',
  unreachable: 'ERR_RESOURCE_UNREACHABLE',
  tooLarge: 'ERR_RESOURCE_RESPONSE_TOO_LARGE',
  party: 'the resource server',
}

/** Headers the helper owns. */
const OWN_HEADERS = new Set(['authorization', 'dpop'])

function invalid(message: string): FapiError {
  return new FapiError('ERR_RESOURCE_REQUEST_INVALID', `resource request: ${message}`)
}

/** The URL to call: absolute, allowed, without credentials or a token, at its mTLS alias if any. */
function target(url: string, token: BoundToken, options: ResourceOptions): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw invalid('the URL must be absolute')
  }
  if (parsed.username !== '' || parsed.password !== '') throw invalid('the URL carries credentials')
  // RFC 6750 §2.3, RFC 9700 §4.3: a token never travels in a URL.
  if (parsed.searchParams.has('access_token')) throw invalid('the URL carries an access_token')
  parsed.hash = ''
  const path = `${parsed.origin}${parsed.pathname}`
  const alias = token.certificate ? options.aliases[path] : undefined
  if (alias !== undefined) {
    const moved = new URL(alias)
    moved.search = parsed.search
    parsed = moved
  }
  if (!options.isAllowedUrl(parsed)) {
    throw invalid('the URL must be https (http only on loopback with allowInsecureLoopback)')
  }
  if (token.certificate && parsed.protocol !== 'https:') {
    throw invalid('a certificate-bound token needs an https URL')
  }
  return parsed
}

function headersOf(init: ResourceRequestInit): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (OWN_HEADERS.has(name.toLowerCase())) {
      throw invalid(`the "${name}" header is set by express-fapi; do not pass it`)
    }
    headers[name.toLowerCase()] = value
  }
  return headers
}

/** RFC 9449 §9: a 401 whose DPoP challenge asks for a nonce. */
function wantsNonce(response: HttpResponse): boolean {
  const challenge = response.headers['www-authenticate'] ?? ''
  return (
    response.status === 401 &&
    /(^|[\s,])DPoP(\s|$)/i.test(challenge) &&
    /error\s*=\s*"?use_dpop_nonce"?/i.test(challenge) &&
    response.headers['dpop-nonce'] !== undefined
  )
}

/** Calls a resource server with the token; returns its response, whatever the status. */
export async function callResource(
  url: string,
  init: ResourceRequestInit,
  token: BoundToken,
  options: ResourceOptions,
): Promise<HttpResponse> {
  const address = target(url, token, options)
  const method = (init.method ?? 'GET').toUpperCase()
  if (!/^[A-Z]+$/.test(method)) throw invalid('the method is not a token')
  const headers = headersOf(init)
  const body =
    init.body === undefined
      ? undefined
      : init.body instanceof URLSearchParams
        ? init.body.toString()
        : typeof init.body === 'string'
          ? init.body
          : Buffer.from(init.body)
  if (init.body instanceof URLSearchParams && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
  }
  const send = async (): Promise<HttpResponse> => {
    const own: Record<string, string> = {
      authorization: `${token.tokenType} ${token.accessToken}`,
    }
    if (token.dpopKey !== undefined) {
      const nonce = await options.nonces.get(address.href)
      own.dpop = await dpopProof(token.dpopKey, {
        method,
        url: address.href,
        now: options.now(),
        accessToken: token.accessToken,
        ...(nonce === undefined ? {} : { nonce }),
      })
    }
    const response = await sendRequest(
      address.href,
      {
        method,
        headers: { ...headers, ...own },
        ...(body === undefined ? {} : { body }),
        ...(token.certificate ? { clientCertificate: true } : {}),
      },
      options,
      'resource',
      RESOURCE_FAILURES,
    )
    if (token.dpopKey !== undefined) {
      options.nonces.remember(address.href, response.headers['dpop-nonce'])
    }
    return response
  }
  const first = await send()
  // Once: a server that keeps asking cannot make us loop.
  return token.dpopKey !== undefined && wantsNonce(first) ? send() : first
}
