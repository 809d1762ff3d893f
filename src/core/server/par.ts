/**
 * Pushed authorization requests (RFC 9126): the request object goes to the PAR endpoint with
 * client authentication; the browser then carries only `client_id` and `request_uri`.
 *
 * @module
 */
import { ServerResponseError } from '../../errors.js'
import { postOAuthForm, type OAuthPostOptions } from '../transport/oauth-post.js'

/** The longest PAR `expires_in` accepted, in seconds (one day; servers give a minute or so). */
const MAX_PAR_EXPIRES_IN = 86_400

/** A checked PAR answer. */
export interface PushedRequest {
  readonly requestUri: string
  readonly expiresIn: number
}

/**
 * POSTs the form (the request object or the parameters, plus client authentication; built per
 * attempt) and checks the answer: HTTP 201 with a JSON `request_uri` string and a positive
 * `expires_in` (RFC 9126 §2.2); an error answer (§2.3) becomes `ERR_PAR_REJECTED`.
 */
export async function pushAuthorizationRequest(
  endpoint: string,
  form: () => Promise<URLSearchParams>,
  options: OAuthPostOptions,
): Promise<PushedRequest> {
  const body = await postOAuthForm(endpoint, form, options, 'PAR', {
    expected: 201,
    rejected: 'ERR_PAR_REJECTED',
  })
  const requestUri = body.request_uri
  const expiresIn = body.expires_in
  if (typeof requestUri !== 'string' || requestUri === '') {
    throw new ServerResponseError('ERR_PAR_RESPONSE_INVALID', 'PAR: "request_uri" is missing')
  }
  // RFC 9126 §2.2: a positive integer of seconds; a request_uri is short-lived, a day is plenty.
  if (
    typeof expiresIn !== 'number' ||
    !Number.isInteger(expiresIn) ||
    expiresIn <= 0 ||
    expiresIn > MAX_PAR_EXPIRES_IN
  ) {
    throw new ServerResponseError(
      'ERR_PAR_RESPONSE_INVALID',
      `PAR: "expires_in" is missing or not an integer from 1 to ${MAX_PAR_EXPIRES_IN} seconds`,
    )
  }
  return { requestUri, expiresIn }
}
