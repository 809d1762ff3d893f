/**
 * Every default of `fapiClient()`'s options, written once. `index.ts` and `profiles.ts` read them
 * from here; docs/reference/options.md and the TSDoc of `options.ts` state them too, and a test
 * (`test/defaults.test.ts`) fails when either says something else.
 *
 * Options without a value default are not here: `issuer`, `clientId`, `redirectUri` and
 * `keys.signing` are required; `keys.encryption`, `tls` and `postLogoutRedirectUri` are absent
 * unless given; `algorithms` is the profile's list (`profiles.ts`); `now` is `Date.now`, read when
 * the configuration is resolved.
 *
 * @module
 */
import type {
  ClientAssertionAudience,
  ClientAuthMethod,
  EncryptionOptions,
  Profile,
  ResponseMode,
  SenderConstraint,
} from './options.js'

/** The defaults that depend on the profile. */
export interface ProfileDefaults {
  readonly responseMode: ResponseMode
  readonly pushedAuthorizationRequests: boolean
  readonly requestObject: boolean
  readonly senderConstraint: SenderConstraint
}

/** The smallest and largest value an integer option accepts. */
export interface Bounds {
  readonly min: number
  readonly max: number
}

/** The options `integer(...)` checks, with their bounds. */
export type IntegerOption =
  | 'clockTolerance'
  | 'httpTimeout'
  | 'maxResponseBytes'
  | 'requestObjectLifetime'
  | 'maxPendingLogins'
  | 'pendingLoginMaxAge'
  | 'idTokenMaxAge'
  | 'maxCallbackBodyBytes'
  | 'grantLifetime'

/** The shape of {@link DEFAULTS}. */
export interface Defaults extends Readonly<Record<IntegerOption, number>> {
  readonly profile: Profile
  readonly clientAuthMethod: ClientAuthMethod
  readonly clientAssertionAudience: ClientAssertionAudience
  readonly scope: string
  readonly authorizationParams: Readonly<Record<string, never>>
  readonly encryption: Readonly<EncryptionOptions>
  readonly returnToOrigins: readonly string[]
  readonly defaultReturnTo: string
  readonly loginPath: string
  readonly sessionKey: string
  readonly grantedAuthorizationDetails: 'equal' | 'any'
  readonly requestObjectByReference: boolean
  readonly requestObjectPath: string
  readonly allowInsecureLoopback: boolean
  /** What each integer option accepts (its default lies inside). */
  readonly bounds: Readonly<Record<IntegerOption, Bounds>>
  /**
   * The defaults each profile gives the options it governs (its rules, what it requires and
   * refuses, are in `profiles.ts`):
   * - `responseMode`: JARM (`'jwt'`) where the profile requires signed responses, a plain
   *   `'query'` response checked by its RFC 9207 `iss` where it allows one.
   * - `pushedAuthorizationRequests`: on, except under `oidc` (FAPI 2.0 requires PAR).
   * - `requestObject`: on where the profile requires JAR, else off (PAR or the query carries
   *   the parameters).
   * - `senderConstraint`: DPoP under FAPI 2.0, mTLS under FAPI 1.0 Advanced, none under `oidc`.
   */
  readonly byProfile: Readonly<Record<Profile, ProfileDefaults>>
}

/** Freezes `value` and every object inside it. Internal. */
export function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object)
  }
  return Object.freeze(value)
}

/** Every option default, frozen (nested objects too). Internal. */
export const DEFAULTS: Defaults = deepFreeze({
  profile: 'fapi2-message-signing',
  clientAuthMethod: 'private_key_jwt',
  clientAssertionAudience: 'issuer',
  scope: 'openid',
  authorizationParams: {},
  encryption: {},
  clockTolerance: 5,
  httpTimeout: 5000,
  maxResponseBytes: 1 << 20,
  requestObjectLifetime: 300,
  maxPendingLogins: 5,
  pendingLoginMaxAge: 600,
  idTokenMaxAge: 600,
  maxCallbackBodyBytes: 32 << 10,
  grantLifetime: 7_776_000,
  returnToOrigins: [],
  defaultReturnTo: '/',
  loginPath: '/auth/login',
  sessionKey: 'fapi',
  grantedAuthorizationDetails: 'equal',
  requestObjectByReference: false,
  requestObjectPath: '/auth/request-objects',
  allowInsecureLoopback: false,
  bounds: {
    clockTolerance: { min: 0, max: 60 },
    httpTimeout: { min: 1, max: 120_000 },
    maxResponseBytes: { min: 1024, max: 16 << 20 },
    requestObjectLifetime: { min: 10, max: 3600 },
    maxPendingLogins: { min: 1, max: 50 },
    pendingLoginMaxAge: { min: 10, max: 86_400 },
    idTokenMaxAge: { min: 10, max: 86_400 },
    maxCallbackBodyBytes: { min: 1024, max: 1 << 20 },
    grantLifetime: { min: 60, max: 315_360_000 },
  },
  byProfile: {
    'fapi2-security': {
      responseMode: 'query',
      pushedAuthorizationRequests: true,
      requestObject: false,
      senderConstraint: 'dpop',
    },
    'fapi2-message-signing': {
      responseMode: 'jwt',
      pushedAuthorizationRequests: true,
      requestObject: true,
      senderConstraint: 'dpop',
    },
    'fapi1-advanced': {
      responseMode: 'jwt',
      pushedAuthorizationRequests: true,
      requestObject: true,
      senderConstraint: 'mtls',
    },
    oidc: {
      responseMode: 'query',
      pushedAuthorizationRequests: false,
      requestObject: false,
      senderConstraint: 'none',
    },
  },
})
