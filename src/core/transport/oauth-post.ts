/**
 * One POST to an OAuth endpoint of the authorization server (PAR, token): the form built afresh
 * for each attempt (a new client assertion, never a reused `jti`), a DPoP proof when the login is
 * DPoP-bound, the client certificate when mTLS is used, and one retry with the server's nonce
 * after a `use_dpop_nonce` error (RFC 9449 §8, FAPI 2.0 §5.3.3.1 (8)). An `invalid_client` error
 * (RFC 6749 §5.2), or a 401 or 403 without an OAuth error body, is a refused client
 * authentication, reported with what to check for the method that was used.
 *
 * @module
 */
import { ServerResponseError, printable } from '../../errors.js'
import { dpopProof, type DpopKey, type DpopNonces } from '../jwt/dpop.js'
import { clientAuthenticationChecks, clientAuthenticationHeaders } from '../server/client-auth.js'
import { jsonObject, sendRequest, type HttpOptions } from './http.js'

/** DPoP for one request: the login's key and the client's nonce cache. */
export interface DpopContext {
  readonly key: DpopKey
  readonly nonces: DpopNonces
  /** Milliseconds since the epoch. */
  readonly now: () => number
}

/** How a call is made beyond the form. */
export interface OAuthPostOptions extends HttpOptions {
  readonly dpop?: DpopContext | undefined
  /** Present the client certificate (mTLS client authentication or certificate binding). */
  readonly clientCertificate?: boolean
}

/** What a call expects, and the code of an OAuth error answer. */
export interface Outcome {
  readonly expected: number
  readonly rejected: 'ERR_PAR_REJECTED' | 'ERR_TOKEN_REJECTED'
}

/** An answer whose body may not be JSON (a bare 401, say). */
interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Record<string, unknown> | undefined
  /** What to check if the server refused the client authentication of this attempt. */
  readonly checks: string
}

/** Reads an OAuth error response (RFC 6749 §5.2) into a printable summary. */
function oauthErrorSummary(body: Record<string, unknown>): string {
  const error = typeof body.error === 'string' ? printable(body.error, 64) : 'no error code'
  const description =
    typeof body.error_description === 'string' ? `: ${printable(body.error_description)}` : ''
  return `${error}${description}`
}

async function attempt(
  endpoint: string,
  form: URLSearchParams,
  options: OAuthPostOptions,
  what: string,
): Promise<Answer> {
  const { dpop } = options
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/x-www-form-urlencoded',
    ...clientAuthenticationHeaders(form),
  }
  if (dpop !== undefined) {
    const nonce = await dpop.nonces.get(endpoint)
    headers.dpop = await dpopProof(dpop.key, {
      method: 'POST',
      url: endpoint,
      now: dpop.now(),
      ...(nonce === undefined ? {} : { nonce }),
    })
  }
  const response = await sendRequest(
    endpoint,
    {
      method: 'POST',
      headers,
      body: form.toString(),
      ...(options.clientCertificate === true ? { clientCertificate: true } : {}),
    },
    options,
    what,
  )
  dpop?.nonces.remember(endpoint, response.headers['dpop-nonce'])
  return {
    status: response.status,
    headers: response.headers,
    body: jsonObject(response.body),
    checks: clientAuthenticationChecks(form),
  }
}

/**
 * POSTs a form to an OAuth endpoint and returns the JSON body of the `expected` status. An OAuth
 * error answer (4xx with a JSON `error`, RFC 6749 §5.2) becomes `outcome.rejected`; any other
 * status is `ERR_AS_HTTP_STATUS`. `form` is called once per attempt.
 */
export async function postOAuthForm(
  endpoint: string,
  form: () => Promise<URLSearchParams>,
  options: OAuthPostOptions,
  what: string,
  outcome: Outcome,
): Promise<Record<string, unknown>> {
  let response = await attempt(endpoint, await form(), options, what)
  if (
    options.dpop !== undefined &&
    (response.status === 400 || response.status === 401) &&
    response.body?.error === 'use_dpop_nonce' &&
    response.headers['dpop-nonce'] !== undefined
  ) {
    // RFC 9449 §8: the server wants a nonce it just gave; once, so a server cannot loop us.
    response = await attempt(endpoint, await form(), options, what)
  }
  const { status, body, checks } = response
  if (status === outcome.expected && body !== undefined) return body
  if ((status === 401 || status === 403) && typeof body?.error !== 'string') {
    throw new ServerResponseError(
      'ERR_CLIENT_AUTH_REFUSED',
      `${what}: the server refused the client authentication (HTTP ${status} without an OAuth error); ${checks}`,
    )
  }
  if (status >= 400 && status < 500 && body?.error === 'invalid_client') {
    // RFC 6749 §5.2: "Client authentication failed", with 400 or 401.
    throw new ServerResponseError(
      'ERR_CLIENT_AUTH_REFUSED',
      `${what}: the server refused the client authentication (${oauthErrorSummary(body)}); ${checks}`,
    )
  }
  if (body === undefined) {
    throw new ServerResponseError(
      status === outcome.expected ? 'ERR_AS_INVALID_JSON' : 'ERR_AS_HTTP_STATUS',
      status === outcome.expected
        ? `${what}: the response is not a JSON object`
        : `${what}: HTTP ${status}, expected ${outcome.expected}`,
    )
  }
  if (status >= 400 && status < 500 && typeof body.error === 'string') {
    throw new ServerResponseError(
      outcome.rejected,
      `${what}: the server rejected the request (${oauthErrorSummary(body)})`,
    )
  }
  throw new ServerResponseError(
    'ERR_AS_HTTP_STATUS',
    `${what}: HTTP ${status}, expected ${outcome.expected}`,
  )
}
