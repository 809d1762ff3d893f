/**
 * Calls to the authorization server: a timeout on the whole exchange, a cap on what is read, no
 * redirects followed, JSON bodies narrowed to objects. Failures become {@link ServerResponseError}s
 * with codes that say what went wrong, never what the body contained.
 *
 * @module
 */
import { ServerResponseError, printable } from '../errors.js'

/** What an HTTP exchange needs from the configuration. */
export interface HttpOptions {
  readonly httpTimeout: number
  readonly maxResponseBytes: number
}

/** A JSON object answered by the server, with the HTTP status. */
export interface JsonResponse {
  readonly status: number
  readonly body: Record<string, unknown>
}

const USER_AGENT = 'express-fapi'

async function readCapped(response: Response, max: number, what: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => undefined)
    throw new ServerResponseError(
      'ERR_AS_RESPONSE_TOO_LARGE',
      502,
      `${what}: response over ${max} bytes`,
    )
  }
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => undefined)
      throw new ServerResponseError(
        'ERR_AS_RESPONSE_TOO_LARGE',
        502,
        `${what}: response over ${max} bytes`,
      )
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

function failure(cause: unknown, what: string, signal: AbortSignal): ServerResponseError {
  if (cause instanceof ServerResponseError) return cause
  if (signal.aborted) {
    return new ServerResponseError(
      'ERR_AS_TIMEOUT',
      504,
      `${what}: the authorization server did not answer in time`,
      {
        cause,
      },
    )
  }
  return new ServerResponseError(
    'ERR_AS_UNREACHABLE',
    502,
    `${what}: the authorization server could not be reached`,
    {
      cause,
    },
  )
}

/**
 * Sends one request and reads a JSON object back, within `httpTimeout` for the whole exchange.
 * Any HTTP status is returned to the caller, who decides what it means; only the body's shape is
 * checked here. A non-object or unparsable body is `ERR_AS_INVALID_JSON`.
 */
export async function requestJson(
  url: string,
  init: { method: 'GET' } | { method: 'POST'; form: URLSearchParams },
  options: HttpOptions,
  what: string,
): Promise<JsonResponse> {
  const signal = AbortSignal.timeout(options.httpTimeout)
  try {
    const response = await fetch(url, {
      method: init.method,
      redirect: 'manual',
      signal,
      headers: {
        accept: 'application/json',
        'user-agent': USER_AGENT,
        ...(init.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.method === 'POST' ? { body: init.form.toString() } : {}),
    })
    const text = await readCapped(response, options.maxResponseBytes, what)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      if (response.status < 200 || response.status >= 300) {
        throw new ServerResponseError('ERR_AS_HTTP_STATUS', 502, `${what}: HTTP ${response.status}`)
      }
      throw new ServerResponseError(
        'ERR_AS_INVALID_JSON',
        502,
        `${what}: the response is not a JSON object`,
      )
    }
    return { status: response.status, body: body as Record<string, unknown> }
  } catch (cause) {
    throw failure(cause, what, signal)
  }
}

/** Reads an OAuth error response (RFC 6749 §5.2) into a printable summary. */
function oauthErrorSummary(body: Record<string, unknown>): string {
  const error = typeof body.error === 'string' ? printable(body.error, 64) : 'no error code'
  const description =
    typeof body.error_description === 'string' ? `: ${printable(body.error_description)}` : ''
  return `${error}${description}`
}

/**
 * POSTs a form to an OAuth endpoint and returns the JSON body of the `expected` status. An OAuth
 * error answer (4xx with a JSON `error`, RFC 6749 §5.2) becomes `rejected`; any other status is
 * `ERR_AS_HTTP_STATUS`.
 */
export async function postOAuthForm(
  endpoint: string,
  form: URLSearchParams,
  options: HttpOptions,
  what: string,
  outcome: { expected: number; rejected: 'ERR_PAR_REJECTED' | 'ERR_TOKEN_REJECTED' },
): Promise<Record<string, unknown>> {
  const { status, body } = await requestJson(endpoint, { method: 'POST', form }, options, what)
  if (status === outcome.expected) return body
  if (status >= 400 && status < 500 && typeof body.error === 'string') {
    throw new ServerResponseError(
      outcome.rejected,
      502,
      `${what}: the server rejected the request (${oauthErrorSummary(body)})`,
    )
  }
  throw new ServerResponseError(
    'ERR_AS_HTTP_STATUS',
    502,
    `${what}: HTTP ${status}, expected ${outcome.expected}`,
  )
}
