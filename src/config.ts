/**
 * Options -> frozen, validated configuration. The one home of defaults and profiles: nothing else
 * reads raw options.
 *
 * @module
 */
import { FapiConfigError } from './errors.js'
import { importSigningKey, type SigningKey, type SigningKeyInput } from './core/keys.js'

/** The security profiles a client can be held to. */
export type Profile = 'fapi2-message-signing' | 'fapi1-advanced'

/** The JARM response modes (JARM §4.3). `jwt` means `query.jwt` for `response_type=code`. */
export type ResponseMode = 'jwt' | 'query.jwt' | 'form_post.jwt'

/** JWS algorithms a profile allows, for what we sign and for what we accept. */
export type JwsAlgorithm = 'PS256' | 'ES256' | 'EdDSA'

/** Options of {@link fapiClient}. */
export interface FapiClientOptions {
  /** The authorization server's issuer identifier, compared exactly with its metadata `issuer`. */
  issuer: string
  /** This client's `client_id` at the authorization server. */
  clientId: string
  /** The absolute callback URL registered at the server. Never derived from the request. */
  redirectUri: string
  /** The client's private keys. `signing`: JWKs (with `kid`) or `{ kid, key: KeyObject }`. */
  keys: { signing: readonly SigningKeyInput[] }
  /** The security profile. Default `'fapi2-message-signing'`. */
  profile?: Profile
  /** The JARM response mode. Default `'jwt'`. */
  responseMode?: ResponseMode
  /**
   * Push the request object to the PAR endpoint (RFC 9126). Default `true`; required by
   * `fapi2-message-signing`.
   */
  pushedAuthorizationRequests?: boolean
  /** The requested scope. Must include `openid`. Default `'openid'`. */
  scope?: string
  /** Extra authorization parameters put in every request object (e.g. `acr_values`, `claims`). */
  authorizationParams?: Readonly<Record<string, string | number | boolean | object>>
  /** Seconds of clock skew tolerated when checking `exp`, `iat`, `nbf`. Default 5, max 60. */
  clockTolerance?: number
  /** Milliseconds before a call to the authorization server is abandoned. Default 5000. */
  httpTimeout?: number
  /** Largest response body read from the authorization server, in bytes. Default 1 MiB. */
  maxResponseBytes?: number
  /** Lifetime of a request object in seconds (FAPI: ≤ 3600). Default 300. */
  requestObjectLifetime?: number
  /** Pending logins kept per session (oldest dropped first). Default 5. */
  maxPendingLogins?: number
  /** Seconds a pending login stays valid. Default 600. */
  pendingLoginMaxAge?: number
  /** Largest accepted form body at the callback, in bytes. Default 32 KiB. */
  maxCallbackBodyBytes?: number
  /** Origins (besides relative paths) that `returnTo` may point to. Default none. */
  returnToOrigins?: readonly string[]
  /** Where to go after login when no `returnTo` was given. Default `'/'`. */
  defaultReturnTo?: string
  /**
   * Allow `http:` for the issuer and its endpoints when the host is a loopback address
   * (127.0.0.0/8, `[::1]`, `localhost`). FAPI requires TLS: this exists for tests and local
   * development only. Default `false`.
   */
  allowInsecureLoopback?: boolean
  /** The clock, in milliseconds since the epoch. Default `Date.now`. For tests. */
  now?: () => number
}

/** The resolved, frozen configuration. Internal. */
export interface Config {
  readonly issuer: string
  readonly clientId: string
  readonly redirectUri: string
  readonly redirectPath: string
  readonly signingKeys: readonly SigningKey[]
  readonly profile: Profile
  readonly responseMode: ResponseMode
  readonly par: boolean
  readonly scope: string
  readonly openid: boolean
  readonly authorizationParams: Readonly<Record<string, string | number | boolean | object>>
  readonly allowedAlgorithms: readonly JwsAlgorithm[]
  readonly clockTolerance: number
  readonly httpTimeout: number
  readonly maxResponseBytes: number
  readonly requestObjectLifetime: number
  readonly maxPendingLogins: number
  readonly pendingLoginMaxAge: number
  readonly maxCallbackBodyBytes: number
  readonly returnToOrigins: readonly string[]
  readonly defaultReturnTo: string
  readonly allowInsecureLoopback: boolean
  readonly now: () => number
}

const PROFILES: Readonly<Record<Profile, { algorithms: readonly JwsAlgorithm[]; par: boolean }>> = {
  // FAPI 2.0 Security Profile §5.4.1: PS256, ES256 or EdDSA (Ed25519); §5.3.3.2 (2): PAR.
  'fapi2-message-signing': { algorithms: ['PS256', 'ES256', 'EdDSA'], par: true },
  // FAPI 1.0 Advanced §8.6: PS256 or ES256 only; PAR optional.
  'fapi1-advanced': { algorithms: ['PS256', 'ES256'], par: false },
}

const RESPONSE_MODES: readonly ResponseMode[] = ['jwt', 'query.jwt', 'form_post.jwt']

/** Parameters the library owns: an `authorizationParams` entry may not override them. */
const RESERVED_PARAMS = new Set([
  'iss',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sub',
  'client_id',
  'response_type',
  'response_mode',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
])

function fail(option: string, message: string): never {
  throw new FapiConfigError(`express-fapi: option "${option}" ${message}`)
}

function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  )
}

/**
 * Whether `url` may be used to talk to the authorization server: `https:`, or `http:` on a loopback
 * host when `allowInsecureLoopback` is set.
 */
export function isAllowedServerUrl(url: URL, allowInsecureLoopback: boolean): boolean {
  if (url.protocol === 'https:') return true
  return url.protocol === 'http:' && allowInsecureLoopback && isLoopbackHost(url.hostname)
}

function parseUrl(option: string, value: unknown): URL {
  if (typeof value !== 'string' || value === '') fail(option, 'must be a non-empty URL string')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(option, `must be an absolute URL, got "${value}"`)
  }
  if (url.hash !== '') fail(option, 'must not have a fragment')
  if (url.username !== '' || url.password !== '') fail(option, 'must not carry credentials')
  return url
}

function integer(
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(option, `must be an integer from ${min} to ${max}`)
  }
  return value
}

/**
 * Validates options once, at startup, and returns the frozen configuration.
 *
 * @throws {FapiConfigError} with a message that names the option and what to change.
 */
export function resolveConfig(options: FapiClientOptions): Config {
  if (typeof options !== 'object' || options === null) {
    throw new FapiConfigError('express-fapi: fapiClient() needs an options object')
  }
  const allowInsecureLoopback = options.allowInsecureLoopback === true

  const issuerUrl = parseUrl('issuer', options.issuer)
  if (!isAllowedServerUrl(issuerUrl, allowInsecureLoopback)) {
    fail(
      'issuer',
      'must be an https URL (FAPI 2.0 §5.2.1). For a loopback test server, set allowInsecureLoopback: true',
    )
  }
  if (issuerUrl.search !== '') fail('issuer', 'must not have a query')
  // The issuer is compared as a string with the metadata, so keep exactly what was given.
  const issuer = options.issuer

  if (typeof options.clientId !== 'string' || options.clientId === '') {
    fail('clientId', 'must be the non-empty client_id registered at the authorization server')
  }

  const redirectUrl = parseUrl('redirectUri', options.redirectUri)
  if (redirectUrl.protocol !== 'https:' && redirectUrl.protocol !== 'http:') {
    fail('redirectUri', 'must be an http(s) URL')
  }
  if (
    redirectUrl.protocol === 'http:' &&
    !(allowInsecureLoopback && isLoopbackHost(redirectUrl.hostname))
  ) {
    fail(
      'redirectUri',
      'must be an https URL (RFC 9700 §2.6). For loopback development, set allowInsecureLoopback: true',
    )
  }

  const profile = options.profile ?? 'fapi2-message-signing'
  const rules = PROFILES[profile]
  if (rules === undefined) {
    fail('profile', `must be one of ${Object.keys(PROFILES).join(', ')}, got "${String(profile)}"`)
  }

  const responseMode = options.responseMode ?? 'jwt'
  if (!RESPONSE_MODES.includes(responseMode)) {
    fail(
      'responseMode',
      `must be a JARM response mode (${RESPONSE_MODES.join(', ')}) under profile "${profile}", got "${String(responseMode)}"`,
    )
  }

  const par = options.pushedAuthorizationRequests ?? true
  if (typeof par !== 'boolean') fail('pushedAuthorizationRequests', 'must be a boolean')
  if (rules.par && !par) {
    fail(
      'pushedAuthorizationRequests',
      `must be true under profile "${profile}" (FAPI 2.0 §5.3.3.2 (2)); use profile "fapi1-advanced" to send request objects by value`,
    )
  }

  const scope = options.scope ?? 'openid'
  if (
    typeof scope !== 'string' ||
    !/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(scope)
  ) {
    fail('scope', 'must be space-separated scope tokens, e.g. "openid profile"')
  }
  const openid = scope.split(' ').includes('openid')
  if (!openid) {
    fail('scope', 'must include "openid": express-fapi logs users in with an ID token')
  }

  const authorizationParams = { ...(options.authorizationParams ?? {}) }
  for (const name of Object.keys(authorizationParams)) {
    if (RESERVED_PARAMS.has(name)) {
      fail(`authorizationParams.${name}`, 'is set by express-fapi itself; remove it')
    }
  }

  if (!Array.isArray(options.keys?.signing) || options.keys.signing.length === 0) {
    fail('keys.signing', 'must be a non-empty array of private JWKs (with kid) or { kid, key }')
  }
  const signingKeys = options.keys.signing.map((input, index) =>
    importSigningKey(input, `keys.signing[${index}]`, rules.algorithms),
  )
  const kids = new Set<string>()
  for (const key of signingKeys) {
    if (kids.has(key.kid))
      fail('keys.signing', `has the kid "${key.kid}" twice; kids must be unique`)
    kids.add(key.kid)
  }

  const returnToOrigins = (options.returnToOrigins ?? []).map((origin, index) => {
    const url = parseUrl(`returnToOrigins[${index}]`, origin)
    if (url.origin !== origin) {
      fail(
        `returnToOrigins[${index}]`,
        `must be an origin such as "${url.origin}", got "${origin}"`,
      )
    }
    return url.origin
  })

  const defaultReturnTo = options.defaultReturnTo ?? '/'
  if (!isSafeRelativePath(defaultReturnTo)) {
    fail('defaultReturnTo', 'must be a path on this site starting with "/"')
  }

  const now = options.now ?? Date.now
  if (typeof now !== 'function') fail('now', 'must be a function returning milliseconds')

  return Object.freeze({
    issuer,
    clientId: options.clientId,
    redirectUri: options.redirectUri,
    redirectPath: redirectUrl.pathname,
    signingKeys: Object.freeze(signingKeys),
    profile,
    responseMode,
    par,
    scope,
    openid,
    authorizationParams: Object.freeze(authorizationParams),
    allowedAlgorithms: rules.algorithms,
    clockTolerance: integer('clockTolerance', options.clockTolerance, 5, 0, 60),
    httpTimeout: integer('httpTimeout', options.httpTimeout, 5000, 1, 120_000),
    maxResponseBytes: integer(
      'maxResponseBytes',
      options.maxResponseBytes,
      1 << 20,
      1024,
      16 << 20,
    ),
    requestObjectLifetime: integer(
      'requestObjectLifetime',
      options.requestObjectLifetime,
      300,
      10,
      3600,
    ),
    maxPendingLogins: integer('maxPendingLogins', options.maxPendingLogins, 5, 1, 50),
    pendingLoginMaxAge: integer('pendingLoginMaxAge', options.pendingLoginMaxAge, 600, 10, 86_400),
    maxCallbackBodyBytes: integer(
      'maxCallbackBodyBytes',
      options.maxCallbackBodyBytes,
      32 << 10,
      1024,
      1 << 20,
    ),
    returnToOrigins: Object.freeze(returnToOrigins),
    defaultReturnTo,
    allowInsecureLoopback,
    now,
  })
}

/**
 * A path on this site: starts with one `/`, no `//` or `/\` (protocol-relative URLs), no
 * backslashes or control characters (browsers normalise them into `/`).
 */
export function isSafeRelativePath(value: string): boolean {
  return (
    value.startsWith('/') &&
    !value.startsWith('//') &&
    // eslint-disable-next-line no-control-regex
    !/[\\\u0000-\u001f\u007f]/.test(value) &&
    value.length <= 2048
  )
}
