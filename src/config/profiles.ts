/**
 * The security profiles: what each one requires and allows, checked once at startup with messages
 * that say what to change. What each one defaults to is in `defaults.ts` (`DEFAULTS.byProfile`).
 * Part of the configuration (`index.ts`).
 *
 * @module
 */
import { failOption as fail } from '../errors.js'
import { DEFAULTS } from './defaults.js'
import type {
  ClientAssertionAudience,
  ClientAuthMethod,
  FapiClientOptions,
  JwsAlgorithm,
  Profile,
  ResponseMode,
  SenderConstraint,
} from './options.js'

interface ProfileRules {
  /** The JWS algorithms allowed (an `algorithms` option may only narrow them, or add RS256 under `oidc`). */
  readonly algorithms: readonly JwsAlgorithm[]
  /** PAR is required (else optional). */
  readonly parRequired: boolean
  /** Signed request objects (JAR) are required (else optional). */
  readonly requestObjectRequired: boolean
  /** Whether a plain `query` response (RFC 9207) is allowed; else JARM only. */
  readonly plainResponse: boolean
  readonly senderConstraints: readonly SenderConstraint[]
  /** The rule a sender constraint comes from, for messages. */
  readonly bindingRule: string
  /** Whether client assertions may name the endpoint URL as `aud` (else the issuer only). */
  readonly endpointAudience: boolean
}

const FAPI2_ALGORITHMS: readonly JwsAlgorithm[] = ['PS256', 'ES256', 'EdDSA']

const PROFILES: Readonly<Record<Profile, ProfileRules>> = {
  // FAPI 2.0 Security Profile: §5.4.1 algorithms, §5.3.3.2 (2) PAR, §5.3.3.1 (1) binding.
  'fapi2-security': {
    algorithms: FAPI2_ALGORITHMS,
    parRequired: true,
    requestObjectRequired: false,
    plainResponse: true,
    senderConstraints: ['dpop', 'mtls', 'none'],
    bindingRule: 'FAPI 2.0 §5.3.3.1 (1)',
    endpointAudience: false,
  },
  // FAPI 2.0 Message Signing: the above, plus JAR and JARM.
  'fapi2-message-signing': {
    algorithms: FAPI2_ALGORITHMS,
    parRequired: true,
    requestObjectRequired: true,
    plainResponse: false,
    senderConstraints: ['dpop', 'mtls', 'none'],
    bindingRule: 'FAPI 2.0 §5.3.3.1 (1)',
    endpointAudience: false,
  },
  // FAPI 1.0 Advanced: §8.6 PS256/ES256, §5.2.3 (2) JAR, §5.2.3.2 JARM, §5.2.3 (1) mTLS binding.
  'fapi1-advanced': {
    algorithms: ['PS256', 'ES256'],
    parRequired: false,
    requestObjectRequired: true,
    plainResponse: false,
    senderConstraints: ['mtls', 'none'],
    bindingRule: 'FAPI 1.0 Advanced §5.2.3 (1)',
    endpointAudience: true,
  },
  // Plain OpenID Connect: PKCE, nonce, state, signed ID tokens; everything else opt-in.
  oidc: {
    algorithms: FAPI2_ALGORITHMS,
    parRequired: false,
    requestObjectRequired: false,
    plainResponse: true,
    senderConstraints: ['dpop', 'mtls', 'none'],
    bindingRule: 'RFC 9700 §2.2',
    endpointAudience: true,
  },
}

/** The JARM response modes (JARM §4.3). */
export const JARM_MODES: readonly ResponseMode[] = [
  'jwt',
  'query.jwt',
  'form_post.jwt',
  'fragment.jwt',
]
const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
]
/** The client secret methods (OIDC Core §9): plain OpenID Connect only, never under FAPI. */
const CLIENT_SECRET_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
]

/** What the profile and the related options resolve to. */
export interface ProfileChoices {
  readonly profile: Profile
  readonly algorithms: readonly JwsAlgorithm[]
  readonly responseMode: ResponseMode
  /** The response is a JARM JWT (else a plain `query` response). */
  readonly jarm: boolean
  readonly par: boolean
  readonly requestObject: boolean
  readonly senderConstraint: SenderConstraint
  readonly clientAuthMethod: ClientAuthMethod
  readonly clientAssertionAudience: ClientAssertionAudience
}

function algorithmsOf(options: FapiClientOptions, profile: Profile): readonly JwsAlgorithm[] {
  const rules = PROFILES[profile]
  if (options.algorithms === undefined) return rules.algorithms
  const allowed: readonly JwsAlgorithm[] =
    profile === 'oidc' ? [...rules.algorithms, 'RS256'] : rules.algorithms
  if (!Array.isArray(options.algorithms) || options.algorithms.length === 0) {
    fail('algorithms', `must be a non-empty array of ${allowed.join(', ')}`)
  }
  for (const alg of options.algorithms) {
    if (!allowed.includes(alg)) {
      fail(
        'algorithms',
        alg === 'RS256'
          ? `lists RS256, which only profile "oidc" allows (FAPI 1.0 Adv §8.6, FAPI 2.0 §5.4.1)`
          : `lists "${String(alg)}"; profile "${profile}" allows ${allowed.join(', ')}`,
      )
    }
  }
  return [...new Set(options.algorithms)]
}

/**
 * Resolves the profile and the options it governs: response mode, PAR, request objects,
 * algorithms, sender constraint and client authentication.
 *
 * @throws {FapiConfigError}
 */
export function resolveProfile(options: FapiClientOptions): ProfileChoices {
  const profile = options.profile ?? DEFAULTS.profile
  const rules = PROFILES[profile]
  if (rules === undefined) {
    fail('profile', `must be one of ${Object.keys(PROFILES).join(', ')}, got "${String(profile)}"`)
  }
  const defaults = DEFAULTS.byProfile[profile]

  const modes: readonly ResponseMode[] = rules.plainResponse ? ['query', ...JARM_MODES] : JARM_MODES
  const responseMode = options.responseMode ?? defaults.responseMode
  if (!modes.includes(responseMode)) {
    fail(
      'responseMode',
      rules.plainResponse
        ? `must be one of ${modes.join(', ')}, got "${String(responseMode)}"`
        : `must be a JARM response mode (${JARM_MODES.join(', ')}) under profile "${profile}", got "${String(responseMode)}"; a plain "query" response is allowed under "fapi2-security" and "oidc"`,
    )
  }

  const par = options.pushedAuthorizationRequests ?? defaults.pushedAuthorizationRequests
  if (typeof par !== 'boolean') fail('pushedAuthorizationRequests', 'must be a boolean')
  if (rules.parRequired && !par) {
    fail(
      'pushedAuthorizationRequests',
      `must be true under profile "${profile}" (FAPI 2.0 §5.3.3.2 (2)); use profile "fapi1-advanced" to send request objects by value`,
    )
  }

  const requestObject = options.requestObject ?? defaults.requestObject
  if (typeof requestObject !== 'boolean') fail('requestObject', 'must be a boolean')
  if (rules.requestObjectRequired && !requestObject) {
    fail(
      'requestObject',
      `must be true under profile "${profile}" (signed request objects: FAPI 2.0 Message Signing, FAPI 1.0 Adv §5.2.3 (2))`,
    )
  }

  const senderConstraint = options.senderConstraint ?? defaults.senderConstraint
  if (!rules.senderConstraints.includes(senderConstraint)) {
    fail(
      'senderConstraint',
      senderConstraint === 'dpop' && profile === 'fapi1-advanced'
        ? `"dpop" is not allowed under profile "fapi1-advanced", which binds tokens with mTLS (${rules.bindingRule}); use "mtls", or a FAPI 2.0 profile for DPoP`
        : `must be one of ${rules.senderConstraints.join(', ')}, got "${String(senderConstraint)}"`,
    )
  }

  const clientAuthMethod = options.clientAuthMethod ?? DEFAULTS.clientAuthMethod
  if (CLIENT_SECRET_METHODS.includes(clientAuthMethod) && profile !== 'oidc') {
    fail(
      'clientAuthMethod',
      `"${clientAuthMethod}" is not allowed under profile "${profile}": FAPI requires private_key_jwt or mTLS client authentication (FAPI 2.0 §5.3.3.1 (2), FAPI 1.0 Adv §5.2.2 (14)). Client secrets are for profile "oidc" only`,
    )
  }
  if (![...CLIENT_AUTH_METHODS, ...CLIENT_SECRET_METHODS].includes(clientAuthMethod)) {
    fail(
      'clientAuthMethod',
      `must be one of ${CLIENT_AUTH_METHODS.join(', ')} (FAPI 2.0 §5.3.3.1 (2)), or under profile "oidc" ${CLIENT_SECRET_METHODS.join(', ')}, got "${String(clientAuthMethod)}"`,
    )
  }

  const clientAssertionAudience =
    options.clientAssertionAudience ?? DEFAULTS.clientAssertionAudience
  if (clientAssertionAudience !== 'issuer' && clientAssertionAudience !== 'endpoint') {
    fail(
      'clientAssertionAudience',
      `must be "issuer" or "endpoint", got "${String(clientAssertionAudience)}"`,
    )
  }
  if (clientAssertionAudience === 'endpoint' && !rules.endpointAudience) {
    fail(
      'clientAssertionAudience',
      `"endpoint" is not allowed under profile "${profile}": FAPI 2.0 §5.3.3.1 (5) requires the issuer as the sole audience of client assertions (a defence against audience injection). Remove the option, or ask the server to accept the issuer; "endpoint" is for "fapi1-advanced" and "oidc" servers that accept nothing else`,
    )
  }

  return {
    profile,
    algorithms: algorithmsOf(options, profile),
    responseMode,
    jarm: responseMode !== 'query',
    par,
    requestObject,
    senderConstraint,
    clientAuthMethod,
    clientAssertionAudience,
  }
}

/** Where the sender constraint rule comes from, for messages about its requirements. */
export function bindingRule(profile: Profile): string {
  return PROFILES[profile].bindingRule
}
