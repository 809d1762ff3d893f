/**
 * Calls to resource servers with a logged-in user's access token: in the `Authorization` header
 * only, never in a URL (RFC 6750 §2.1, RFC 9700 §4.3, FAPI 2.0 §5.3.3.1 (3)); `DPoP` with a proof
 * that carries `ath` (RFC 9449 §7) and one retry with the server's nonce after a `use_dpop_nonce`
 * challenge (§9); or `Bearer`, over mTLS with the client certificate when the token is bound to it
 * (RFC 8705 §3), at the endpoint's mTLS alias when the server has one.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { FapiError, ServerResponseError } from '../../errors.js'
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
  /**
   * FAPI 1.0 Part 1 §6.2.2: send `x-fapi-auth-date`, when the user last logged in (the ID token's
   * `auth_time`, else the login's time), as an HTTP-date. Logins only. Default `false`.
   */
  readonly fapiAuthDate?: boolean
  /**
   * FAPI 1.0 Part 1 §6.2.2: send `x-fapi-customer-ip-address`, the user's IP address: `true`
   * takes it from the request (`req.ip` where Express sets it, else the socket's address), a
   * string gives it. Default: not sent.
   */
  readonly fapiCustomerIpAddress?: boolean | string
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
  /** Resource URLs (by {@link aliasKey}) to call at an mTLS alias instead. */
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

/** RFC 4122 UUIDs, as FAPI 1.0 Part 1 §6.2.2 wants `x-fapi-interaction-id`. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** An IMF-fixdate (RFC 9110 §5.6.7), as `Date.prototype.toUTCString()` writes it. */
const HTTP_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

/**
 * The FAPI headers of a call (FAPI 1.0 Part 1 §6.2.2), checked where the app gave them: an
 * `x-fapi-interaction-id` (a new UUID unless given), `x-fapi-auth-date` (an HTTP-date) and
 * `x-fapi-customer-ip-address` (an IP address).
 */
function fapiHeaders(headers: Record<string, string>, init: ResourceRequestInit): string {
  const given = headers['x-fapi-interaction-id']
  if (given !== undefined && !UUID.test(given)) {
    throw invalid('"x-fapi-interaction-id" must be a UUID (FAPI 1.0 Part 1 §6.2.2)')
  }
  const interactionId = given ?? randomUUID()
  headers['x-fapi-interaction-id'] = interactionId
  const authDate = headers['x-fapi-auth-date']
  if (authDate !== undefined && !HTTP_DATE.test(authDate)) {
    throw invalid('"x-fapi-auth-date" must be an HTTP-date (FAPI 1.0 Part 1 §6.2.2)')
  }
  const ip = init.fapiCustomerIpAddress
  if (ip === true) throw invalid('fapiCustomerIpAddress: true needs the request (the middleware)')
  if (typeof ip === 'string') headers['x-fapi-customer-ip-address'] = ip
  const address = headers['x-fapi-customer-ip-address']
  if (address !== undefined && isIP(address) === 0) {
    throw invalid('"x-fapi-customer-ip-address" must be an IP address (FAPI 1.0 Part 1 §6.2.2)')
  }
  return interactionId
}

/**
 * The key of a resource URL in the table of mTLS aliases, the same for the table and the lookup
 * (RFC 8705 §5): the origin as the URL standard normalises it (lower-case scheme and host, no
 * default port) and the path; never the query, credentials or fragment.
 *
 * @example aliasKey('HTTPS://AS.Example:443/userinfo?schema=openid') // 'https://as.example/userinfo'
 */
export function aliasKey(url: URL | string): string {
  const parsed = typeof url === 'string' ? new URL(url) : url
  return `${parsed.origin}${parsed.pathname}`
}

/** The user's last login as an HTTP-date, for `x-fapi-auth-date`. */
export function httpDate(milliseconds: number): string {
  return new Date(milliseconds).toUTCString()
}

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
  const alias = token.certificate ? options.aliases[aliasKey(parsed)] : undefined
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
  const interactionId = fapiHeaders(headers, init)
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
  const answer = token.dpopKey !== undefined && wantsNonce(first) ? await send() : first
  // FAPI 1.0 Part 1 §6.2.1 (11): the resource server echoes the id; another one is not our call.
  const echoed = answer.headers['x-fapi-interaction-id']
  if (echoed !== undefined && echoed.toLowerCase() !== interactionId.toLowerCase()) {
    throw new ServerResponseError(
      'ERR_RESOURCE_INTERACTION_ID_MISMATCH',
      'resource response: the echoed "x-fapi-interaction-id" is not the one sent (FAPI 1.0 Part 1 §6.2.1 (11))',
    )
  }
  return answer
}
