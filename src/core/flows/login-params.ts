/**
 * Per-login authorization parameters (`login({ authorizationParams })`, `startLogin()`): checked
 * at request time against the same list of library-owned parameters as the static ones at
 * startup, and read for what the ID token must then show: `max_age` (OIDC Core §3.1.2.1) and
 * the `acr` values asked for as essential (OIDC Core §5.5.1.1, FAPI 1.0 Adv §5.2.3 (3)).
 *
 * @module
 */
import { RESERVED_PARAMS } from '../../config/index.js'
import { FapiError } from '../../errors.js'
import {
  checkAuthorizationDetails,
  type AuthorizationDetail,
} from '../server/authorization-details.js'

/** Authorization parameters as the app gives them. */
export type AuthorizationParams = Readonly<Record<string, string | number | boolean | object>>

/** What the ID token of a login is held to (kept in its transaction). */
export interface LoginExpectations {
  readonly maxAge?: number
  readonly acr?: readonly string[]
  /** RFC 9396: the `authorization_details` asked for. */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
  /** OIDC Core §5.5.1: `claims.id_token` members with `essential: true` and a `value` (not `acr`). */
  readonly claimValues?: Readonly<Record<string, unknown>>
}

function invalidParams(message: string): FapiError {
  return new FapiError('ERR_AUTHORIZATION_PARAMS_INVALID', message)
}

/**
 * The per-login parameters, checked: a plain object whose names are not owned by express-fapi
 * (`state`, `nonce`, PKCE, `redirect_uri`, `response_type`, `response_mode`, `client_id`,
 * `request`, `request_uri`, … as for `authorizationParams` at startup).
 */
export function checkLoginParams(params: unknown): AuthorizationParams {
  if (params === undefined) return {}
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalidParams('authorizationParams: must be an object of authorization parameters')
  }
  const checked: Record<string, string | number | boolean | object> = {}
  for (const [name, value] of Object.entries(params)) {
    if (RESERVED_PARAMS.has(name)) {
      throw new FapiError(
        'ERR_AUTHORIZATION_PARAM_RESERVED',
        `authorizationParams: "${name}" is set by express-fapi itself and cannot be given per login`,
      )
    }
    if (value === undefined) continue
    if (
      value === null ||
      !['string', 'number', 'boolean', 'object'].includes(typeof value) ||
      (typeof value === 'number' && !Number.isFinite(value))
    ) {
      throw invalidParams(
        `authorizationParams: "${name}" must be a string, number, boolean or object`,
      )
    }
    checked[name] = value as string | number | boolean | object
  }
  // RFC 9396 §2: checked here so that a malformed one is refused before anything is sent.
  if (checked.authorization_details !== undefined) {
    checked.authorization_details = checkAuthorizationDetails(checked.authorization_details)
  }
  return checked
}

/** `max_age` as a non-negative integer of seconds, when asked for. */
function maxAgeOf(value: unknown): number | undefined {
  if (value === undefined) return undefined
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw invalidParams('authorizationParams: "max_age" must be a non-negative integer of seconds')
  }
  return number
}

/** The `claims` parameter as an object (it may be given as JSON text). */
function claimsOf(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  let parsed: unknown = value
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value)
    } catch {
      throw invalidParams('authorizationParams: "claims" is not valid JSON (OIDC Core §5.5)')
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidParams('authorizationParams: "claims" must be a JSON object (OIDC Core §5.5)')
  }
  return parsed as Record<string, unknown>
}

/**
 * The essential `acr` values: `claims.id_token.acr` with `essential: true` and its `values`
 * (or `value`), else the space-separated `acr_values`; an empty list asks for any `acr`.
 */
function essentialAcr(params: AuthorizationParams): readonly string[] | undefined {
  const idToken = claimsOf(params.claims)?.id_token
  if (typeof idToken !== 'object' || idToken === null) return undefined
  const acr = (idToken as Record<string, unknown>).acr
  if (typeof acr !== 'object' || acr === null) return undefined
  const request = acr as Record<string, unknown>
  if (request.essential !== true) return undefined
  if (Array.isArray(request.values)) return request.values.filter((v) => typeof v === 'string')
  if (typeof request.value === 'string') return [request.value]
  const listed = params.acr_values
  return typeof listed === 'string' ? listed.split(' ').filter((v) => v !== '') : []
}

/** `claims.id_token` members asked for as essential with a `value` (OIDC Core §5.5.1), but `acr`. */
function essentialValues(params: AuthorizationParams): Record<string, unknown> | undefined {
  const idToken = claimsOf(params.claims)?.id_token
  if (typeof idToken !== 'object' || idToken === null) return undefined
  const values: Record<string, unknown> = {}
  for (const [name, request] of Object.entries(idToken as Record<string, unknown>)) {
    if (name === 'acr' || typeof request !== 'object' || request === null) continue
    const { essential, value } = request as Record<string, unknown>
    if (essential === true && value !== undefined) values[name] = value
  }
  return Object.keys(values).length > 0 ? values : undefined
}

/** What the ID token must show for the parameters a login sends (static and per-login merged). */
export function expectationsOf(params: AuthorizationParams): LoginExpectations {
  const maxAge = maxAgeOf(params.max_age)
  const acr = essentialAcr(params)
  const claimValues = essentialValues(params)
  const details =
    params.authorization_details === undefined
      ? undefined
      : checkAuthorizationDetails(params.authorization_details)
  return {
    ...(maxAge === undefined ? {} : { maxAge }),
    ...(acr === undefined ? {} : { acr }),
    ...(details === undefined ? {} : { authorizationDetails: details }),
    ...(claimValues === undefined ? {} : { claimValues }),
  }
}
