/**
 * Options -> frozen, validated configuration. With `defaults.ts` (every default) and
 * `profiles.ts` (what each profile requires), the one place that reads raw options.
 *
 * @module
 */
import { FapiConfigError, failOption as fail } from '../errors.js'
import type { Agents } from './agents.js'
import {
  resolveCoordination,
  resolveSessionSecrets,
  type Coordination,
  type SessionSecrets,
} from './coordination.js'
import { resolveGrantStore, type GrantStore } from './grants.js'
import { DEFAULTS, type IntegerOption } from './defaults.js'
import type { FapiEvent } from './events.js'
import type {
  FapiClientOptions,
  HttpTimer,
  JwsAlgorithm,
  RequestObjectStore,
  ResponseMode,
  TlsOptions,
} from './options.js'
import { JARM_MODES, resolveProfile, type ProfileChoices } from './profiles.js'
import { resolveSecurity, type ResolvedSecurity } from './security.js'
import { browserTarget, isAllowedServerUrl, isSafeRelativePath, parseUrl } from './urls.js'
import type { JWK } from 'jose'

export type { FapiClientOptions, JwsAlgorithm, Profile, ResponseMode } from './options.js'
export type { FapiEvent, FapiEventType, TracedJwt } from './events.js'
export { REDACTED } from './events.js'
export type {
  Coordination,
  SessionSecretKey,
  SessionSecrets,
  SessionSecretsOptions,
} from './coordination.js'
export {
  browserTarget,
  isAllowedServerUrl,
  isLoopbackHost,
  isSafeRelativePath,
  parseUrl,
} from './urls.js'

/** The resolved, frozen configuration. Internal. */
export interface Config extends Omit<ProfileChoices, 'algorithms'>, Omit<ResolvedSecurity, 'tls'> {
  readonly issuer: string
  readonly clientId: string
  readonly redirectUri: string
  readonly redirectPath: string
  /** The client certificate as a JWK with `x5c`, for `jwks()` under `self_signed_tls_client_auth`. */
  readonly certificateJwk: Readonly<JWK> | undefined
  /** Connection pools (plain, https, https with the client certificate). */
  readonly agents: Agents
  /** Replaces the TLS material while running (transport certificate rotation). */
  readonly updateTls: (tls: TlsOptions) => void
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
  readonly idTokenMaxAge: number
  /** The shared store, when one was given (else the core uses an in-memory one). */
  readonly coordination: Coordination | undefined
  /** The grant store, when one was given (else the core uses an in-memory one). */
  readonly grants: GrantStore | undefined
  /** Seconds a grant is kept when the server does not say (see `grantLifetime`). */
  readonly grantLifetime: number
  /** The keys that seal session secrets, when given. */
  readonly sessionSecrets: SessionSecrets | undefined
  readonly maxCallbackBodyBytes: number
  readonly returnToOrigins: readonly string[]
  readonly defaultReturnTo: string
  readonly loginPath: string
  readonly postLogoutRedirectUri: string | undefined
  readonly allowInsecureLoopback: boolean
  /** The modes a login may ask for: `responseMode` first, then `responseModes`. */
  readonly responseModes: readonly ResponseMode[]
  readonly sessionKey: string
  readonly grantedAuthorizationDetails: NonNullable<
    FapiClientOptions['grantedAuthorizationDetails']
  >
  /** RFC 9101 §5.2: request objects by reference, served under `requestObjectPath`. */
  readonly requestObjectByReference: boolean
  readonly requestObjectPath: string
  /** The store of request objects by reference (given, or none: the core makes a memory one). */
  readonly requestObjectStore: RequestObjectStore | undefined
  readonly onEvent: ((event: FapiEvent) => void | Promise<void>) | undefined
  readonly now: () => number
  readonly httpTimer: HttpTimer
}

/** Parameters the library owns: an `authorizationParams` entry may not override them. */
export const RESERVED_PARAMS: ReadonlySet<string> = new Set([
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
  'dpop_jkt',
])

/** An integer option: its default when absent, else a value within its bounds. */
function integer(option: IntegerOption, value: unknown): number {
  if (value === undefined) return DEFAULTS[option]
  const { min, max } = DEFAULTS.bounds[option]
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
  const allowInsecureLoopback =
    (options.allowInsecureLoopback ?? DEFAULTS.allowInsecureLoopback) === true

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

  const choices = resolveProfile(options)

  const scope = options.scope ?? DEFAULTS.scope
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

  const authorizationParams = { ...(options.authorizationParams ?? DEFAULTS.authorizationParams) }
  for (const name of Object.keys(authorizationParams)) {
    if (RESERVED_PARAMS.has(name)) {
      fail(`authorizationParams.${name}`, 'is set by express-fapi itself; remove it')
    }
  }

  const security = resolveSecurity(options, choices, integer('httpTimeout', options.httpTimeout))

  const returnToOrigins = (options.returnToOrigins ?? DEFAULTS.returnToOrigins).map(
    (origin, index) => {
      const url = parseUrl(`returnToOrigins[${index}]`, origin)
      if (url.origin !== origin) {
        fail(
          `returnToOrigins[${index}]`,
          `must be an origin such as "${url.origin}", got "${origin}"`,
        )
      }
      return url.origin
    },
  )

  const defaultReturnTo = options.defaultReturnTo ?? DEFAULTS.defaultReturnTo
  if (!isSafeRelativePath(defaultReturnTo)) {
    fail('defaultReturnTo', 'must be a path on this site starting with "/"')
  }

  const loginPath = options.loginPath ?? DEFAULTS.loginPath
  if (typeof loginPath !== 'string' || !isSafeRelativePath(loginPath) || /[?#]/.test(loginPath)) {
    fail('loginPath', 'must be the path where login() is mounted, e.g. "/auth/login"')
  }

  // Sent as given: the server compares it exactly with the registered value.
  const postLogoutRedirectUri = options.postLogoutRedirectUri
  if (postLogoutRedirectUri !== undefined) {
    browserTarget('postLogoutRedirectUri', postLogoutRedirectUri, allowInsecureLoopback)
  }

  const responseModes: ResponseMode[] = [choices.responseMode]
  if (options.responseModes !== undefined) {
    if (!Array.isArray(options.responseModes)) {
      fail('responseModes', `must be an array of JARM response modes (${JARM_MODES.join(', ')})`)
    }
    if (!choices.jarm && options.responseModes.length > 0) {
      fail(
        'responseModes',
        'needs a JARM responseMode: a login may only switch between JARM modes, never to or from a plain "query" response',
      )
    }
    for (const mode of options.responseModes) {
      if (!JARM_MODES.includes(mode)) {
        fail(
          'responseModes',
          `lists "${String(mode)}"; a login may ask for ${JARM_MODES.join(', ')} only`,
        )
      }
      if (!responseModes.includes(mode)) responseModes.push(mode)
    }
  }

  const sessionKey = options.sessionKey ?? DEFAULTS.sessionKey
  if (typeof sessionKey !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(sessionKey)) {
    fail('sessionKey', 'must be a property name such as "fapi" or "bankA"')
  }
  if (sessionKey === 'cookie' || sessionKey === 'id') {
    fail('sessionKey', `"${sessionKey}" belongs to express-session; choose another name`)
  }

  const granted = options.grantedAuthorizationDetails ?? DEFAULTS.grantedAuthorizationDetails
  if (granted !== 'equal' && granted !== 'any' && typeof granted !== 'function') {
    fail(
      'grantedAuthorizationDetails',
      'must be "equal", "any" or a function (granted, requested) => boolean',
    )
  }

  const byReference = options.requestObjectByReference ?? DEFAULTS.requestObjectByReference
  if (typeof byReference !== 'boolean') fail('requestObjectByReference', 'must be a boolean')
  if (byReference) {
    if (choices.profile !== 'oidc' && choices.profile !== 'fapi1-advanced') {
      fail(
        'requestObjectByReference',
        `is for the oidc and fapi1-advanced profiles; profile "${choices.profile}" pushes its requests (PAR)`,
      )
    }
    if (!choices.requestObject || choices.par) {
      fail(
        'requestObjectByReference',
        'needs requestObject: true and pushedAuthorizationRequests: false (a pushed request is already by reference)',
      )
    }
  }
  const requestObjectPath = options.requestObjectPath ?? DEFAULTS.requestObjectPath
  if (
    typeof requestObjectPath !== 'string' ||
    !isSafeRelativePath(requestObjectPath) ||
    /[?#]/.test(requestObjectPath) ||
    requestObjectPath.endsWith('/')
  ) {
    fail('requestObjectPath', 'must be a path such as "/auth/request-objects" (no trailing slash)')
  }
  const store = options.requestObjectStore
  if (
    store !== undefined &&
    (typeof store !== 'object' ||
      store === null ||
      typeof store.put !== 'function' ||
      typeof store.take !== 'function')
  ) {
    fail('requestObjectStore', 'must have put(id, requestObject, expiresAt) and take(id, now)')
  }

  const onEvent = options.onEvent
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    fail('onEvent', 'must be a function receiving each event')
  }

  const now = options.now ?? Date.now
  if (typeof now !== 'function') fail('now', 'must be a function returning milliseconds')
  const httpTimer = options.httpTimer ?? realTimer
  if (typeof httpTimer !== 'function') {
    fail('httpTimer', 'must be a function (ms, expire) returning a function that cancels it')
  }

  return Object.freeze({
    issuer,
    clientId: options.clientId,
    redirectUri: options.redirectUri,
    redirectPath: redirectUrl.pathname,
    keyRing: security.keyRing,
    // Read at use: a key rotation (`updateKeys`) replaces them.
    get signingKeys() {
      return security.keyRing.signingKeys
    },
    get encryptionKeys() {
      return security.keyRing.encryptionKeys
    },
    profile: choices.profile,
    responseMode: choices.responseMode,
    jarm: choices.jarm,
    par: choices.par,
    requestObject: choices.requestObject,
    senderConstraint: choices.senderConstraint,
    clientAuthMethod: choices.clientAuthMethod,
    clientAssertionAudience: choices.clientAssertionAudience,
    clientSecret: security.clientSecret,
    encryption: security.encryption,
    get certificateJwk() {
      return security.tls.certificateJwk
    },
    agents: security.tls.agents,
    updateTls: security.tls.update,
    scope,
    openid,
    authorizationParams: Object.freeze(authorizationParams),
    allowedAlgorithms: choices.algorithms,
    clockTolerance: integer('clockTolerance', options.clockTolerance),
    httpTimeout: integer('httpTimeout', options.httpTimeout),
    maxResponseBytes: integer('maxResponseBytes', options.maxResponseBytes),
    requestObjectLifetime: integer('requestObjectLifetime', options.requestObjectLifetime),
    maxPendingLogins: integer('maxPendingLogins', options.maxPendingLogins),
    pendingLoginMaxAge: integer('pendingLoginMaxAge', options.pendingLoginMaxAge),
    idTokenMaxAge: integer('idTokenMaxAge', options.idTokenMaxAge),
    coordination: resolveCoordination(options.coordination),
    grants: resolveGrantStore(options.grants),
    grantLifetime: integer('grantLifetime', options.grantLifetime),
    sessionSecrets: resolveSessionSecrets(options.sessionSecrets),
    maxCallbackBodyBytes: integer('maxCallbackBodyBytes', options.maxCallbackBodyBytes),
    returnToOrigins: Object.freeze(returnToOrigins),
    defaultReturnTo,
    loginPath,
    postLogoutRedirectUri,
    allowInsecureLoopback,
    responseModes: Object.freeze(responseModes),
    sessionKey,
    grantedAuthorizationDetails: granted,
    requestObjectByReference: byReference,
    requestObjectPath,
    requestObjectStore: store,
    onEvent,
    now,
    httpTimer,
  })
}

/** `setTimeout`, as an {@link HttpTimer}. */
function realTimer(ms: number, expire: () => void): () => void {
  const timer = setTimeout(expire, ms)
  return () => clearTimeout(timer)
}
