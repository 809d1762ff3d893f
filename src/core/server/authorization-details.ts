/**
 * Rich authorization requests (RFC 9396): the shape of `authorization_details` (§2: an array of
 * objects, each with a string `type`), the types the server lists (§10,
 * `authorization_details_types_supported`), and what the token response says was granted (§7).
 *
 * @module
 */
import type { AuthorizationDetailObject } from '../../config/options.js'
import { FapiError, ServerResponseError } from '../../errors.js'

/** One authorization details object: a string `type`, the rest defined by the type. */
export type AuthorizationDetail = AuthorizationDetailObject

function isDetail(value: unknown): value is AuthorizationDetail {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type !== ''
  )
}

/** Parses a value given as an array or as JSON text; `undefined` when it is neither. */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value) as unknown
  } catch {
    return undefined
  }
}

/**
 * The requested `authorization_details`, checked (RFC 9396 §2): an array of objects with a
 * string `type` (given as an array, or as JSON text); `ERR_AUTHORIZATION_DETAILS_INVALID`.
 */
export function checkAuthorizationDetails(value: unknown): readonly AuthorizationDetail[] {
  const details = parsed(value)
  if (!Array.isArray(details) || details.length === 0 || !details.every(isDetail)) {
    throw new FapiError(
      'ERR_AUTHORIZATION_DETAILS_INVALID',
      'authorization_details must be a non-empty array of objects, each with a string "type" (RFC 9396 §2)',
    )
  }
  return details
}

/**
 * Refuses types the server does not list in `authorization_details_types_supported` (RFC 9396
 * §10); a server that lists none supports none.
 */
export function checkDetailTypes(
  details: readonly AuthorizationDetail[],
  supported: readonly string[] | undefined,
): void {
  const unknown = details.map((detail) => detail.type).filter((type) => !supported?.includes(type))
  if (unknown.length > 0) {
    throw new FapiError(
      'ERR_AUTHORIZATION_DETAILS_TYPE_UNSUPPORTED',
      `authorization_details type "${unknown[0]?.slice(0, 64) ?? ''}" is not in the server's authorization_details_types_supported (RFC 9396 §10)`,
    )
  }
}

/** The token response's `authorization_details` (RFC 9396 §7), checked for shape. */
export function grantedDetailsOf(value: unknown): readonly AuthorizationDetail[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every(isDetail)) {
    throw new ServerResponseError(
      'ERR_TOKEN_RESPONSE_INVALID',
      'token response: "authorization_details" is not an array of objects with a string "type" (RFC 9396 §7)',
    )
  }
  return value
}

/**
 * Checks what was granted against what a login asked for (RFC 9396 §7), as
 * `grantedAuthorizationDetails` says: `ERR_AUTHORIZATION_DETAILS_NOT_GRANTED`.
 */
export function checkGrantedDetails(
  granted: readonly AuthorizationDetail[] | undefined,
  requested: readonly AuthorizationDetail[],
  rule:
    | 'equal'
    | 'any'
    | ((
        granted: readonly AuthorizationDetail[] | undefined,
        requested: readonly AuthorizationDetail[],
      ) => boolean),
): void {
  if (rule === 'any') return
  const ok =
    rule === 'equal'
      ? granted !== undefined && sameJson(granted, requested)
      : rule(granted, requested) === true
  if (!ok) {
    throw new ServerResponseError(
      'ERR_AUTHORIZATION_DETAILS_NOT_GRANTED',
      granted === undefined
        ? 'token response: no "authorization_details", though the login asked for some (RFC 9396 §7)'
        : 'token response: the granted "authorization_details" are not what the login asked for (RFC 9396 §7)',
    )
  }
}

/** JSON values compared by content, object members in any order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameJson(item, b[i]))
  }
  const left = Object.entries(a as Record<string, unknown>)
  const right = b as Record<string, unknown>
  return (
    left.length === Object.keys(right).length &&
    left.every(([name, item]) => Object.hasOwn(right, name) && sameJson(item, right[name]))
  )
}
