/**
 * Options -> frozen, validated configuration. The one home of defaults and profiles: nothing else
 * reads raw options.
 *
 * @module
 */
import { FapiConfigError } from './errors.js'
import { importSigningKey, type SigningKey } from './core/keys.js'
import type { FapiClientOptions, JwsAlgorithm, Profile, ResponseMode } from './options.js'

export type { FapiClientOptions, JwsAlgorithm, Profile, ResponseMode } from './options.js'

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
  readonly loginPath: string
  readonly postLogoutRedirectUri: string | undefined
  readonly allowInsecureLoopback: boolean
  readonly now: () => number
}

const PROFILES: Readonly<Record<Profile, { algorithms: readonly JwsAlgorithm[]; par: boolean }>> = {
  // FAPI 2.0 Security Profile §5.4.1: PS256, ES256 or EdDSA (Ed25519); §5.3.3.2 (2): PAR.
  'fapi2-message-signing': { algorithms: ['PS256', 'ES256', 'EdDSA'], par: true },
  // FAPI 1.0 Advanced §8.6: PS256 or ES256 only; PAR optional.
  'fapi1-advanced': { algorithms: ['PS256', 'ES256'], par: false },
}

const RESPONSE_MODES: readonly ResponseMode[] = [
  'jwt',
  'query.jwt',
  'form_post.jwt',
  'fragment.jwt',
]

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

/** A URL the browser is sent to with protocol data: https, or http on loopback when allowed. */
function browserTarget(option: string, value: unknown, allowInsecureLoopback: boolean): URL {
  const url = parseUrl(option, value)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(option, 'must be an http(s) URL')
  if (url.protocol === 'http:' && !(allowInsecureLoopback && isLoopbackHost(url.hostname))) {
    fail(
      option,
      'must be an https URL (RFC 9700 §2.6). For loopback development, set allowInsecureLoopback: true',
    )
  }
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

  const redirectUrl = browserTarget('redirectUri', options.redirectUri, allowInsecureLoopback)

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

  const loginPath = options.loginPath ?? '/auth/login'
  if (typeof loginPath !== 'string' || !isSafeRelativePath(loginPath) || /[?#]/.test(loginPath)) {
    fail('loginPath', 'must be the path where login() is mounted, e.g. "/auth/login"')
  }

  // Sent as given: the server compares it exactly with the registered value.
  const postLogoutRedirectUri = options.postLogoutRedirectUri
  if (postLogoutRedirectUri !== undefined) {
    browserTarget('postLogoutRedirectUri', postLogoutRedirectUri, allowInsecureLoopback)
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
    loginPath,
    postLogoutRedirectUri,
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
