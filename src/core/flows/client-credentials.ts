/**
 * The client credentials grant (RFC 6749 §4.4): a token that acts for the client itself (to
 * create a consent at the bank's API, say), with the client authentication of the logins
 * (`private_key_jwt` or mTLS) and their sender constraint: a DPoP key of the client, made once and
 * kept in memory, or the client certificate. Tokens are cached per parameter set until shortly
 * before they expire, with one request in flight per parameter set.
 *
 * The cache is behind {@link ClientTokenCache}, so that a store shared by several instances can
 * back it; the in-memory one is the default.
 *
 * @module
 */
import { FapiError } from '../../errors.js'
import { createDpopKey, type DpopKey } from '../jwt/dpop.js'
import {
  checkAuthorizationDetails,
  checkDetailTypes,
  type AuthorizationDetail,
} from '../server/authorization-details.js'
import { addClientAuthentication } from '../server/client-auth.js'
import type { ServerMetadata } from '../server/discovery.js'
import type { BoundToken } from '../server/resource.js'
import { checkTokenFields } from '../server/token.js'
import { postOAuthForm } from '../transport/oauth-post.js'
import { log } from '../log.js'
import { dpopContext, tokenEndpointOptions, type ClientContext } from './context.js'

/** What a client credentials token is asked for. */
export interface ClientCredentialsRequest {
  /** Space-separated scopes; none by default. */
  readonly scope?: string
  /** RFC 9396 `authorization_details` (an array of objects with a string `type`). */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
  /** RFC 8707 resource indicators. */
  readonly resource?: string | readonly string[]
}

/** A client credentials token and its binding. */
export interface ClientToken extends BoundToken {
  /** Milliseconds since the epoch, when the server said `expires_in`. */
  readonly expiresAt: number | undefined
  readonly scope: string
  readonly authorizationDetails?: readonly AuthorizationDetail[]
}

/** Where client tokens are kept between calls (in memory by default). */
export interface ClientTokenCache {
  /** The token kept for `key`, if it is still good at `now` (milliseconds). */
  get(key: string, now: number): ClientToken | undefined
  /** Keeps `token` for `key` until shortly before it expires (`now` in milliseconds). */
  set(key: string, token: ClientToken, now: number): void
}

/** A token is used until this long before it expires (milliseconds), or half its lifetime. */
const EXPIRY_MARGIN = 30_000
/** Parameter sets kept at most; the oldest goes first. */
const MAX_ENTRIES = 100

/** The in-memory cache: bounded, entries dropped shortly before their token expires. */
export class MemoryClientTokenCache implements ClientTokenCache {
  readonly #entries = new Map<string, { token: ClientToken; until: number }>()

  get(key: string, now: number): ClientToken | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.until <= now) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.token
  }

  set(key: string, token: ClientToken, now: number): void {
    if (token.expiresAt === undefined) return
    const margin = Math.min(EXPIRY_MARGIN, (token.expiresAt - now) / 2)
    this.#entries.delete(key)
    this.#entries.set(key, { token, until: token.expiresAt - margin })
    while (this.#entries.size > MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value
      if (oldest === undefined) break
      this.#entries.delete(oldest)
    }
  }
}

function invalid(message: string): FapiError {
  return new FapiError('ERR_CLIENT_CREDENTIALS_REQUEST_INVALID', `clientCredentials(): ${message}`)
}

/** The request, checked, and its form fields (without client authentication). */
function fieldsOf(
  request: unknown,
  metadata: ServerMetadata,
): { key: string; fields: [string, string][] } {
  if (request === undefined) request = {}
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw invalid('the parameters must be an object')
  }
  const { scope, authorizationDetails, resource, ...rest } = request as Record<string, unknown>
  const extra = Object.keys(rest)
  if (extra.length > 0) throw invalid(`unknown parameter "${extra[0]?.slice(0, 40) ?? ''}"`)
  const fields: [string, string][] = [['grant_type', 'client_credentials']]
  if (scope !== undefined) {
    if (
      typeof scope !== 'string' ||
      !/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(scope)
    ) {
      throw invalid('"scope" must be space-separated scope tokens (RFC 6749 §3.3)')
    }
    fields.push(['scope', scope])
  }
  if (authorizationDetails !== undefined) {
    const details = checkAuthorizationDetails(authorizationDetails)
    checkDetailTypes(details, metadata.authorizationDetailsTypes)
    fields.push(['authorization_details', JSON.stringify(details)])
  }
  if (resource !== undefined) {
    const list = typeof resource === 'string' ? [resource] : resource
    if (!Array.isArray(list) || list.some((value) => typeof value !== 'string')) {
      throw invalid('"resource" must be an absolute URL or a list of them (RFC 8707 §2)')
    }
    for (const value of list as string[]) {
      if (!URL.canParse(value) || new URL(value).hash !== '') {
        throw invalid('"resource" must be an absolute URL without a fragment (RFC 8707 §2)')
      }
      fields.push(['resource', value])
    }
  }
  return { key: JSON.stringify(fields), fields }
}

/** Gets client credentials tokens for one client. */
export type ClientCredentials = (request?: unknown) => Promise<ClientToken>

/** Creates the client credentials flow of a client: its cache, its flights and its DPoP key. */
export function createClientCredentials(
  context: ClientContext,
  cache: ClientTokenCache = new MemoryClientTokenCache(),
): ClientCredentials {
  const { config } = context
  const flights = new Map<string, Promise<ClientToken>>()
  let dpopKey: Promise<DpopKey> | undefined

  async function fetchToken(
    metadata: ServerMetadata,
    fields: [string, string][],
  ): Promise<ClientToken> {
    if (metadata.dpopAlgorithm !== undefined) dpopKey ??= createDpopKey(metadata.dpopAlgorithm)
    const key = metadata.dpopAlgorithm === undefined ? undefined : await dpopKey
    const options = tokenEndpointOptions(context, key, '')
    const body = await postOAuthForm(
      metadata.tokenEndpoint,
      () =>
        addClientAuthentication(
          new URLSearchParams(fields),
          config,
          metadata.signingKey,
          metadata.tokenEndpoint,
        ),
      { ...options, dpop: dpopContext(context, key) },
      'token',
      { expected: 200, rejected: 'ERR_TOKEN_REJECTED' },
    )
    const tokens = checkTokenFields(body, {
      requestedScope: fields.find(([name]) => name === 'scope')?.[1] ?? '',
      now: config.now(),
      tokenType: key === undefined ? 'Bearer' : 'DPoP',
    })
    log.token('client credentials token issued (%s)', tokens.tokenType)
    return {
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      dpopKey: tokens.tokenType === 'DPoP' ? key : undefined,
      certificate: config.senderConstraint === 'mtls',
      expiresAt: tokens.expiresAt,
      scope: tokens.scope,
      ...(tokens.authorizationDetails === undefined
        ? {}
        : { authorizationDetails: tokens.authorizationDetails }),
    }
  }

  return async function clientCredentials(request?: unknown): Promise<ClientToken> {
    const metadata = await context.discovery.get()
    const { key, fields } = fieldsOf(request, metadata)
    const kept = cache.get(key, config.now())
    if (kept !== undefined) return kept
    const running = flights.get(key)
    if (running !== undefined) return running
    const flight = fetchToken(metadata, fields)
      .then((token) => {
        cache.set(key, token, config.now())
        return token
      })
      .finally(() => flights.delete(key))
    flights.set(key, flight)
    return flight
  }
}
