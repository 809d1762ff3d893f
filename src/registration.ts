/**
 * `fapiRegistration()`: a client that registers itself at a server offering dynamic registration
 * (RFC 7591), with a software statement from the app's directory, and manages the registration
 * (RFC 7592). The registration is kept in a store (memory by default, Redis for several
 * instances); `clientOptions()` gives the options of `fapiClient()` with the registered
 * `client_id` (and `client_secret`, where the server issued one).
 *
 * @module
 */
import { resolveConfig, type FapiClientOptions } from './config/index.js'
import { browserTarget } from './config/urls.js'
import { failOption as fail } from './errors.js'
import { DERIVED } from './core/registration/metadata.js'
import {
  deleteRegistration,
  ensureRegistration,
  readRegistration,
  type RegistrationPlan,
} from './core/registration/register.js'
import {
  memoryRegistrations,
  type Registration,
  type RegistrationStore,
} from './core/registration/store.js'

/** Options of {@link fapiRegistration}. */
export interface FapiRegistrationOptions {
  /** The client's options, without `clientId` and `clientSecret`: the server issues them. */
  readonly client: Omit<FapiClientOptions, 'clientId' | 'clientSecret'>
  /**
   * Returns a software statement (a JWT signed by the ecosystem's directory, RFC 7591 §2.3),
   * called afresh for each registration and update (directories issue short-lived ones).
   */
  readonly softwareStatement?: () => Promise<string>
  /** RFC 7591 §3: the initial access token, or a function returning a fresh one. */
  readonly initialAccessToken?: string | (() => Promise<string>)
  /** Register over mTLS with the client certificate (`client.tls`). Default `false`. */
  readonly mtls?: boolean
  /**
   * `'json'` (default), or `'jwt'`: the metadata in a JWT signed as the client's request objects
   * and client assertions are (an active key of `client.keys.signing`, an external signer
   * included), sent as `application/jose`.
   */
  readonly format?: 'json' | 'jwt'
  /** The public URL of the client's `jwks()` route; default: the public keys by value (`jwks`). */
  readonly jwksUri?: string
  /**
   * The absolute public URL of the client's back-channel logout route (`router()` mounts it at
   * `/auth/backchannel-logout`), registered as `backchannel_logout_uri` where the server
   * supports back-channel logout, with `backchannel_logout_session_required` where it can send a
   * `sid`. Given explicitly: the route's public URL depends on where the app mounts the router
   * and on its proxies. Default: none registered.
   *
   * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRegistration
   */
  readonly backchannelLogoutUri?: string
  /** More metadata: `client_name`, `contacts`, `logo_uri`, … (not what the client derives). */
  readonly metadata?: Readonly<Record<string, unknown>>
  /** Where the registration is kept. Default: this process's memory. */
  readonly store?: RegistrationStore
  /** The store key. Default: the issuer. */
  readonly key?: string
}

/** A self-registering client: see {@link fapiRegistration}. */
export interface FapiRegistration {
  /** Registers, or updates the registration when the configuration changed; else the stored one. */
  ensure(): Promise<Registration>
  /** Reads the registration back from the server (RFC 7592 §2.1); the stored one is refreshed. */
  read(): Promise<Registration | undefined>
  /** Deletes the registration at the server and from the store; `false` when there was none. */
  delete(): Promise<boolean>
  /** `ensure()`, then the options of `fapiClient()` with the registered client_id (and secret). */
  clientOptions(): Promise<FapiClientOptions>
}

/**
 * Registers a client dynamically (RFC 7591) and manages the registration (RFC 7592). The
 * metadata is derived from `client` (redirect URI, keys, auth method, response modes, algorithms,
 * token binding); the server's answer is checked against the profile and kept in `store`.
 *
 * @example
 * ```ts
 * const registration = fapiRegistration({
 *   client: { issuer, redirectUri, keys: { signing: [privateJwk] }, tls: { cert, key } },
 *   softwareStatement: () => directory.softwareStatement(),
 *   mtls: true,
 *   store: redisRegistrations(redis),
 * })
 * const auth = fapiClient(await registration.clientOptions())
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7591 and https://www.rfc-editor.org/rfc/rfc7592
 * @throws {FapiConfigError} at once, for options that cannot work
 */
export function fapiRegistration(options: FapiRegistrationOptions): FapiRegistration {
  if (typeof options !== 'object' || options === null || typeof options.client !== 'object') {
    fail('client', 'must be the options of fapiClient(), without clientId')
  }
  const given = options.client as FapiClientOptions
  if (given.clientId !== undefined || given.clientSecret !== undefined) {
    fail('client', 'must not have clientId or clientSecret: the server issues them')
  }
  const method = given.clientAuthMethod
  // The configuration as fapiClient() will see it; the placeholders are never sent.
  const config = resolveConfig({
    ...given,
    clientId: 'unregistered',
    ...(method?.startsWith('client_secret_') === true ? { clientSecret: '-'.repeat(32) } : {}),
  })
  if (options.softwareStatement !== undefined && typeof options.softwareStatement !== 'function') {
    fail('softwareStatement', 'must be an async function returning the software statement JWT')
  }
  const iat = options.initialAccessToken
  if (iat !== undefined && typeof iat !== 'function' && (typeof iat !== 'string' || iat === '')) {
    fail('initialAccessToken', 'must be a non-empty string or an async function returning one')
  }
  const format = options.format ?? 'json'
  if (format !== 'json' && format !== 'jwt') fail('format', 'must be "json" or "jwt"')
  if (format === 'jwt' && !config.signingKeys.some((key) => key.state === 'active')) {
    fail('format', '"jwt" signs the request: client.keys.signing must hold an active key')
  }
  const logout = options.backchannelLogoutUri
  if (logout !== undefined) {
    browserTarget('backchannelLogoutUri', logout, config.allowInsecureLoopback)
  }
  const mtls = options.mtls ?? false
  if (typeof mtls !== 'boolean') fail('mtls', 'must be a boolean')
  const certificate = given.tls?.cert
  if ((mtls || config.clientAuthMethod === 'tls_client_auth') && certificate === undefined) {
    fail(
      'client.tls',
      'needs "cert" and "key": registration over mTLS and tls_client_auth_subject_dn use the client certificate',
    )
  }
  for (const name of Object.keys(options.metadata ?? {})) {
    if ((DERIVED as readonly string[]).includes(name)) {
      fail(`metadata.${name}`, 'is derived from the client options; change those instead')
    }
  }
  const store = options.store ?? memoryRegistrations()
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.get !== 'function' ||
    typeof store.set !== 'function' ||
    typeof store.delete !== 'function'
  ) {
    fail('store', 'must have get(key), set(key, registration) and delete(key)')
  }
  const plan: RegistrationPlan = {
    config,
    key: options.key ?? config.issuer,
    store,
    metadata: {
      jwksUri: options.jwksUri,
      backchannelLogoutUri: logout,
      certificate:
        typeof certificate === 'string' || Buffer.isBuffer(certificate) ? certificate : undefined,
      extra: options.metadata,
    },
    softwareStatement: options.softwareStatement,
    initialAccessToken:
      iat === undefined ? undefined : typeof iat === 'string' ? () => Promise.resolve(iat) : iat,
    format,
    mtls,
  }
  let flight: Promise<Registration> | undefined
  const ensure = (): Promise<Registration> => {
    flight ??= ensureRegistration(plan).finally(() => {
      flight = undefined
    })
    return flight
  }
  return Object.freeze({
    ensure,
    read: () => readRegistration(plan),
    delete: () => deleteRegistration(plan),
    async clientOptions(): Promise<FapiClientOptions> {
      const registration = await ensure()
      return {
        ...given,
        clientId: registration.clientId,
        ...(registration.clientSecret === undefined
          ? {}
          : { clientSecret: registration.clientSecret }),
      }
    },
  })
}
