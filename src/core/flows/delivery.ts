/**
 * Where the authorization response is, for each response mode: for the JARM modes (JARM §4.3)
 * the query for `jwt` / `query.jwt`, the form body for `form_post.jwt`, and for `fragment.jwt`
 * first nowhere (a GET whose fragment the server never sees, answered with the relay page), then
 * the form body the relay page posts; for the plain `query` mode, the query parameters. Anything
 * else is refused: a plain `?code=` where JARM was requested is a downgrade, a `response` in the
 * wrong place (or in plain mode) is a mode mismatch.
 *
 * @module
 */
import type { Config, ResponseMode } from '../../config/index.js'
import { AuthorizationResponseError, printable } from '../../errors.js'

/** The form field that marks a POST sent by the form_post relay page (at most one relay). */
export const RELAY_FIELD = 'fapi_relay'

/**
 * The callback request as plain data: what an adapter reads from its framework's request.
 */
export interface CallbackRequest {
  /** The HTTP method, upper case. */
  readonly method: string
  /** The path of the request as the app received it (no query). */
  readonly path: string
  /** The query parameters exactly as sent, repeated names kept. */
  readonly query: URLSearchParams
  /** A request header by lower-case name (`sec-fetch-site` is read). */
  readonly header: (name: string) => string | undefined
  /**
   * Reads the `application/x-www-form-urlencoded` body of at most `limit` bytes: called at most once, and only for a POST
   * in a mode that expects one. Rejects with a `FapiError` (`ERR_CALLBACK_CONTENT_TYPE`,
   * `ERR_CALLBACK_BODY_TOO_LARGE`, `ERR_CALLBACK_MALFORMED`).
   */
  readonly readBody: (limit: number) => Promise<URLSearchParams>
}

/** How the authorization response reached the callback. */
export type Delivery =
  | {
      readonly kind: 'response'
      /** The JARM `response` value, not yet verified. */
      readonly response: string
      readonly method: 'GET' | 'POST'
      /** The POST came from express-fapi's own form_post relay page. */
      readonly relayed: boolean
    }
  /** A `fragment.jwt` GET without parameters: the response is in the fragment. */
  | { readonly kind: 'fragment' }
  /** A plain `query` response: its parameters, not yet checked (RFC 9207). */
  | { readonly kind: 'plain'; readonly params: URLSearchParams }

/** Authorization response parameters that, outside a JARM `response`, mean a downgrade. */
const PLAIN_RESPONSE_PARAMS = ['code', 'state', 'error', 'id_token', 'access_token', 'iss']

/** Where each mode puts `response` in the request the callback receives. */
export const CARRIER: Readonly<Record<ResponseMode, 'query' | 'body'>> = {
  query: 'query',
  jwt: 'query',
  'query.jwt': 'query',
  'form_post.jwt': 'body',
  // The relay page moves it from the fragment into a same-origin form POST.
  'fragment.jwt': 'body',
}

function mismatch(message: string): AuthorizationResponseError {
  return new AuthorizationResponseError('ERR_RESPONSE_MODE_MISMATCH', message)
}

function hasPlainResponse(params: URLSearchParams): boolean {
  return PLAIN_RESPONSE_PARAMS.some((name) => params.has(name))
}

/** Exactly one non-empty `response`; a plain response instead of it is a downgrade. */
function singleResponse(params: URLSearchParams, config: Config): string {
  const mode = config.responseModes.join('" or "')
  // Some servers honour response_mode only when the client is registered with it (issue seen
  // with pushed requests): say so, the downgrade is still refused.
  const pushedHint = config.par
    ? '; the server may ignore a response_mode pushed through PAR: register the client at the server for this response mode (or JARM)'
    : ''
  const values = params.getAll('response')
  if (values.length === 0) {
    if (hasPlainResponse(params)) {
      throw new AuthorizationResponseError(
        'ERR_RESPONSE_MODE_DOWNGRADE',
        `a plain authorization response arrived where "${mode}" was requested${pushedHint}`,
      )
    }
    throw new AuthorizationResponseError(
      'ERR_CALLBACK_MALFORMED',
      params.size === 0
        ? 'the callback was opened without an authorization response (no parameters at all): start the login at the login route'
        : 'the "response" parameter is missing',
    )
  }
  const [response] = values
  if (values.length > 1 || response === undefined || response === '') {
    throw new AuthorizationResponseError(
      'ERR_CALLBACK_MALFORMED',
      'exactly one "response" parameter is expected',
    )
  }
  checkOuterIss(params, config.issuer)
  return response
}

/**
 * Reads the authorization response from where the configured modes put it (`responseMode`, and
 * the `responseModes` a login may ask for; the callback then checks that the response came the
 * way its own login asked). Outer parameters beside `response` are ignored, never merged with the
 * JWT's.
 * RFC 9207 §2.4: an `iss` parameter, when present, is compared whatever the response mode; beside
 * a JARM `response` it must be the issuer too (once), or the response is refused before use.
 */
function checkOuterIss(params: URLSearchParams, issuer: string): void {
  const values = params.getAll('iss')
  if (values.length === 0) return
  if (values.length > 1 || values[0] !== issuer) {
    throw new AuthorizationResponseError(
      'ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH',
      `the "iss" parameter beside "response" is not the issuer "${issuer}" (RFC 9207 §2.4)`,
    )
  }
}

/**
 * Reads the authorization response from where the configured mode puts it. Outer parameters
 * beside `response` are ignored, never merged with the JWT's, except `iss`, which must then be
 * the issuer (RFC 9207 §2.4).
 */
export async function readDelivery(req: CallbackRequest, config: Config): Promise<Delivery> {
  const modes = config.responseModes
  const named = modes.join('" or "')
  const byQuery = modes.some((mode) => CARRIER[mode] === 'query')
  const byBody = modes.some((mode) => CARRIER[mode] === 'body')
  if (req.method === 'GET') {
    const params = req.query
    if (!config.jarm) {
      if (params.has('response')) {
        throw mismatch('a JARM "response" arrived where a plain "query" response was requested')
      }
      return { kind: 'plain', params }
    }
    if (!byQuery && params.has('response')) {
      throw mismatch(
        `response mode "${named}" expects the response in ${modes.includes('form_post.jwt') ? 'a POST' : 'the fragment'}, got a query`,
      )
    }
    if (modes.includes('fragment.jwt') && !params.has('response') && !hasPlainResponse(params)) {
      return { kind: 'fragment' }
    }
    return {
      kind: 'response',
      response: singleResponse(params, config),
      method: 'GET',
      relayed: false,
    }
  }
  if (req.method === 'POST') {
    if (!byBody) throw mismatch(`response mode "${named}" expects a GET, got a POST`)
    const params = await req.readBody(config.maxCallbackBodyBytes)
    return {
      kind: 'response',
      response: singleResponse(params, config),
      method: 'POST',
      relayed: modes.includes('form_post.jwt') && params.has(RELAY_FIELD),
    }
  }
  throw new AuthorizationResponseError(
    'ERR_CALLBACK_METHOD_NOT_ALLOWED',
    `the callback does not accept ${printable(req.method, 20)}: only GET and POST`,
  )
}
