/**
 * The HTTP calls of registration (RFC 7591 §3.1) and management (RFC 7592 §2): the metadata as
 * JSON or as a JWT signed with the client's key (`application/jose`, as the UK open banking
 * profile sends it), authenticated by an initial access token (a bearer token, RFC 7591 §3) or the
 * client certificate (mTLS), and the management calls with the registration access token. An
 * OAuth error answer (RFC 7591 §3.2.2) is `ERR_REGISTRATION_REJECTED` with the server's error
 * code; another status is `ERR_AS_HTTP_STATUS`.
 *
 * @module
 */
import type { Config } from '../../config/index.js'
import { ServerResponseError, printable } from '../../errors.js'
import { randomToken } from '../jwt/random.js'
import { signJwt, type SigningKeySource } from '../jwt/sign.js'
import { logExchange } from '../log.js'
import { jsonObject, sendRequest } from '../transport/http.js'

/** How the registration request is sent. */
export interface Delivery {
  /**
   * `'jwt'`: the metadata in a JWT signed with `signingKey`, the key (or external signer) the
   * client's request objects and client assertions are signed with.
   */
  readonly format: 'json' | 'jwt'
  readonly signingKey: SigningKeySource
  /** RFC 7591 §3: the initial access token, as a bearer token. */
  readonly initialAccessToken?: string | undefined
  /** Present the client certificate (the registration endpoint's mTLS alias where listed). */
  readonly clientCertificate: boolean
}

/** Lifetime of a signed registration request, in seconds. */
const REQUEST_LIFETIME = 300

async function body(
  config: Config,
  metadata: Record<string, unknown>,
  delivery: Delivery,
  audience: string,
): Promise<{ type: string; text: string }> {
  if (delivery.format === 'json') {
    return { type: 'application/json', text: JSON.stringify(metadata) }
  }
  const iat = Math.floor(config.now() / 1000)
  const ssa = metadata.software_statement
  const softwareId = typeof ssa === 'string' ? softwareIdOf(ssa) : undefined
  const claims = {
    ...metadata,
    ...(softwareId === undefined ? {} : { iss: softwareId }),
    aud: audience,
    iat,
    exp: iat + REQUEST_LIFETIME,
    jti: randomToken(),
  }
  return { type: 'application/jose', text: await signJwt(delivery.signingKey, claims, 'JWT') }
}

/** The `software_id` of a software statement (read, not verified: the server verifies it). */
function softwareIdOf(ssa: string): string | undefined {
  const payload = ssa.split('.')[1]
  if (payload === undefined) return undefined
  const claims = jsonObject(Buffer.from(payload, 'base64url'))
  return typeof claims?.software_id === 'string' ? claims.software_id : undefined
}

/** A management or registration call; returns the JSON answer of the `expected` status. */
async function call(
  config: Config,
  url: string,
  init: {
    method: 'POST' | 'GET' | 'PUT' | 'DELETE'
    bearer?: string | undefined
    content?: { type: string; text: string }
    clientCertificate: boolean
  },
  expected: number,
  what: string,
): Promise<Record<string, unknown> | undefined> {
  const response = await sendRequest(
    url,
    {
      method: init.method,
      headers: {
        accept: 'application/json',
        ...(init.bearer === undefined ? {} : { authorization: `Bearer ${init.bearer}` }),
        ...(init.content === undefined ? {} : { 'content-type': init.content.type }),
      },
      ...(init.content === undefined ? {} : { body: init.content.text }),
      ...(init.clientCertificate ? { clientCertificate: true } : {}),
    },
    config,
    what,
  ).catch((error: unknown) => {
    logExchange(what, init.method, url, { error })
    throw error
  })
  logExchange(what, init.method, url, response)
  const answer = jsonObject(response.body)
  if (response.status === expected) {
    if (expected === 204) return undefined
    if (answer !== undefined) return answer
    throw new ServerResponseError('ERR_AS_INVALID_JSON', `${what}: the answer is not a JSON object`)
  }
  if (response.status >= 400 && response.status < 500) {
    const error = typeof answer?.error === 'string' ? printable(answer.error, 64) : undefined
    const description =
      typeof answer?.error_description === 'string'
        ? `: ${printable(answer.error_description)}`
        : ''
    throw new ServerResponseError(
      'ERR_REGISTRATION_REJECTED',
      error === undefined
        ? `${what}: HTTP ${response.status} without an OAuth error; check the ${init.bearer === undefined ? 'client certificate' : 'initial or registration access token'} the server expects`
        : `${what}: the server refused (${error}${description})`,
    )
  }
  throw new ServerResponseError(
    'ERR_AS_HTTP_STATUS',
    `${what}: HTTP ${response.status}, expected ${expected}`,
  )
}

/** RFC 7591 §3.1: registers `metadata` at `endpoint`; the answer of a 201. */
export async function postRegistration(
  config: Config,
  endpoint: string,
  metadata: Record<string, unknown>,
  delivery: Delivery,
): Promise<Record<string, unknown>> {
  const answer = await call(
    config,
    endpoint,
    {
      method: 'POST',
      bearer: delivery.initialAccessToken,
      content: await body(config, metadata, delivery, config.issuer),
      clientCertificate: delivery.clientCertificate,
    },
    201,
    'registration',
  )
  return answer ?? {}
}

/** RFC 7592 §2.1, §2.2, §2.3: read, update or delete the registration at `uri`. */
export async function manageRegistration(
  config: Config,
  uri: string,
  token: string,
  action:
    | { method: 'GET' }
    | { method: 'PUT'; metadata: Record<string, unknown>; delivery: Delivery }
    | { method: 'DELETE' },
  clientCertificate: boolean,
): Promise<Record<string, unknown> | undefined> {
  return call(
    config,
    uri,
    {
      method: action.method,
      bearer: token,
      ...(action.method === 'PUT'
        ? { content: await body(config, action.metadata, action.delivery, config.issuer) }
        : {}),
      clientCertificate,
    },
    action.method === 'DELETE' ? 204 : 200,
    `registration ${action.method === 'GET' ? 'read' : action.method === 'PUT' ? 'update' : 'delete'}`,
  )
}
