/**
 * Calls to the authorization server (and, for the resource helper, to resource servers) over
 * `node:http` / `node:https`: a timeout on the whole exchange, a cap on what is read, no redirects
 * followed, JSON bodies narrowed to objects, response headers returned (for `DPoP-Nonce`), and a
 * client certificate presented when asked (RFC 8705). Failures become {@link ServerResponseError}s
 * with codes that say what went wrong, never what the body contained.
 *
 * @module
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Agents } from '../../config/agents.js'
import type { HttpTimer } from '../../config/options.js'
import { ServerResponseError, type ServerResponseErrorCode } from '../../errors.js'
import { logExchange, safeUrl } from '../log.js'

/** What an HTTP exchange needs from the configuration. */
export interface HttpOptions {
  readonly httpTimeout: number
  readonly maxResponseBytes: number
  /** The client's connection pools; Node's global agents when absent. */
  readonly agents?: Agents | undefined
  /** Schedules the timeout (the `httpTimer` option); `setTimeout` when absent. */
  readonly httpTimer?: HttpTimer | undefined
}

/** One outgoing request. */
export interface HttpRequest {
  readonly method: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Buffer
  /** Present the client certificate (mTLS, RFC 8705); the URL must be https. */
  readonly clientCertificate?: boolean
}

/** A response read in full: status, lower-cased headers, body. */
export interface HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
}

/** A JSON object answered by the server, with the HTTP status and headers. */
export interface JsonResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Record<string, unknown>
}

/** The codes of transport failures: the authorization server's, or a resource server's. */
export interface FailureCodes {
  readonly timeout: ServerResponseErrorCode
  readonly unreachable: ServerResponseErrorCode
  readonly tooLarge: ServerResponseErrorCode
  /** Who did not answer, in messages. */
  readonly party: string
}

/** Failures of calls to the authorization server. */
export const SERVER_FAILURES: FailureCodes = {
  timeout: 'ERR_AS_TIMEOUT',
  unreachable: 'ERR_AS_UNREACHABLE',
  tooLarge: 'ERR_AS_RESPONSE_TOO_LARGE',
  party: 'the authorization server',
}

const USER_AGENT = 'express-fapi'

class Timeout extends Error {}
class TooLarge extends Error {}

function flatHeaders(message: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}

function pickAgent(url: URL, request: HttpRequest, agents: Agents | undefined) {
  if (url.protocol === 'http:') {
    if (request.clientCertificate === true) throw new TypeError('a client certificate needs https')
    return { send: httpRequest, agent: agents?.http }
  }
  if (url.protocol !== 'https:') throw new TypeError(`unsupported protocol ${url.protocol}`)
  if (request.clientCertificate === true) {
    if (agents?.mtls === undefined) throw new TypeError('no client certificate is configured')
    return { send: httpsRequest, agent: agents.mtls }
  }
  return { send: httpsRequest, agent: agents?.https }
}

/** Reads the body of `message`, failing past `max` bytes (declared or streamed). */
function readBody(message: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(message.headers['content-length'])
    if (Number.isFinite(declared) && declared > max) {
      reject(new TooLarge())
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    message.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        reject(new TooLarge())
        return
      }
      chunks.push(chunk)
    })
    message.on('end', () => resolve(Buffer.concat(chunks, size)))
    message.on('error', reject)
    message.on('close', () => {
      if (!message.complete) reject(new Error('the connection closed before the response ended'))
    })
  })
}

function coded(
  cause: unknown,
  codes: FailureCodes,
  what: string,
  max: number,
  url: string,
): ServerResponseError {
  if (cause instanceof TooLarge) {
    return new ServerResponseError(codes.tooLarge, `${what}: response over ${max} bytes`)
  }
  if (cause instanceof Timeout) {
    return new ServerResponseError(
      codes.timeout,
      `${what}: ${codes.party} did not answer ${safeUrl(url)} in time`,
      cause,
    )
  }
  return new ServerResponseError(
    codes.unreachable,
    `${what}: ${codes.party} could not be reached at ${safeUrl(url)} (${reason(cause)})`,
    cause,
  )
}

/** Why a connection failed, in words: the system error code, never data from the server. */
function reason(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) {
    if (code === 'ECONNREFUSED') return 'connection refused: is the server running on that port?'
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return `${code}: the host name did not resolve`
    if (code === 'ECONNRESET') return 'connection reset'
    return code
  }
  return 'the connection failed'
}

/**
 * Sends one request and reads the whole response within `httpTimeout`. Any HTTP status is
 * returned; redirects are not followed. Transport failures are coded with `codes`.
 */
export function sendRequest(
  url: string,
  request: HttpRequest,
  options: HttpOptions,
  what: string,
  codes: FailureCodes = SERVER_FAILURES,
): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const target = new URL(url)
    const { send, agent } = pickAgent(target, request, options.agents)
    const body = request.body === undefined ? undefined : Buffer.from(request.body)
    const outgoing = send(target, {
      method: request.method,
      ...(agent === undefined ? {} : { agent }),
      headers: {
        'user-agent': USER_AGENT,
        'accept-encoding': 'identity',
        ...request.headers,
        ...(body === undefined ? {} : { 'content-length': String(body.length) }),
      },
    })
    let settled = false
    // The first outcome wins: a response read in full, a transport error, the size cap, or the
    // timer, which covers the whole exchange (connect, send, wait, read).
    const settle = (error: unknown, response?: HttpResponse): void => {
      if (settled) return
      settled = true
      cancelTimer()
      if (response === undefined) {
        reject(coded(error, codes, what, options.maxResponseBytes, url))
        outgoing.destroy()
      } else resolve(response)
    }
    const expire = () => settle(new Timeout())
    const cancelTimer =
      options.httpTimer === undefined
        ? clearTimeout.bind(undefined, setTimeout(expire, options.httpTimeout))
        : options.httpTimer(options.httpTimeout, expire)
    outgoing.on('error', (error) => settle(error))
    outgoing.on('response', (message) => {
      readBody(message, options.maxResponseBytes).then(
        (bytes) =>
          settle(undefined, {
            status: message.statusCode ?? 0,
            headers: flatHeaders(message),
            body: bytes,
          }),
        (error: unknown) => settle(error),
      )
    })
    outgoing.end(body)
  })
}

/**
 * Sends one request and reads a JSON object back, within `httpTimeout` for the whole exchange.
 * Any HTTP status is returned to the caller, who decides what it means; only the body's shape is
 * checked here. A non-object or unparsable body is `ERR_AS_INVALID_JSON` (`ERR_AS_HTTP_STATUS`
 * when the status is not a success either).
 */
export async function requestJson(
  url: string,
  init:
    | { method: 'GET'; headers?: Readonly<Record<string, string>>; clientCertificate?: boolean }
    | {
        method: 'POST'
        form: URLSearchParams
        headers?: Readonly<Record<string, string>>
        clientCertificate?: boolean
      },
  options: HttpOptions,
  what: string,
): Promise<JsonResponse> {
  const response = await sendRequest(
    url,
    {
      method: init.method,
      headers: {
        accept: 'application/json',
        ...(init.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...init.headers,
      },
      ...(init.method === 'POST' ? { body: init.form.toString() } : {}),
      ...(init.clientCertificate === true ? { clientCertificate: true } : {}),
    },
    options,
    what,
  ).catch((error: unknown) => {
    logExchange(what, init.method, url, { error })
    throw error
  })
  logExchange(what, init.method, url, response)
  const body = jsonObject(response.body)
  if (body === undefined) {
    if (response.status < 200 || response.status >= 300) {
      throw new ServerResponseError('ERR_AS_HTTP_STATUS', `${what}: HTTP ${response.status}`)
    }
    throw new ServerResponseError(
      'ERR_AS_INVALID_JSON',
      `${what}: the response is not a JSON object`,
    )
  }
  return { status: response.status, headers: response.headers, body }
}

/** A body parsed as a JSON object, or `undefined` when it is not one. */
export function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  let body: unknown
  try {
    body = JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined
}
