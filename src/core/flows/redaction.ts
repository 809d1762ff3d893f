/**
 * Redaction by allow-list, for the `onEvent` trace: a value is shown only if its name is on a
 * short list of values known to be public (the response type and mode, scope, client id,
 * redirect URI, PKCE method, `prompt`, `acr_values`, JOSE header names, timestamps, and the
 * `type` of each `authorization_details` entry). Everything else, at any depth, is
 * {@link REDACTED} or reduced to its shape: the names of an object's members and an array's
 * length, never a value. A parameter nobody thought of is therefore hidden, not shown.
 *
 * @module
 */
import { REDACTED } from '../../config/index.js'

/**
 * The names whose (string, number or boolean) values a trace shows: request and response
 * parameters that identify no user and grant nothing, JOSE header members, and JWT times.
 */
export const PUBLIC_NAMES: ReadonlySet<string> = new Set([
  // Authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636, JARM).
  'response_type',
  'response_mode',
  'scope',
  'client_id',
  'redirect_uri',
  'code_challenge_method',
  'prompt',
  'acr_values',
  'max_age',
  'display',
  'ui_locales',
  'claims_locales',
  // Responses (RFC 6749 §5.1, §4.1.2.1; RFC 9207).
  'token_type',
  'expires_in',
  'error',
  'iss',
  // JWT claims that are times, audiences or authentication levels (RFC 7519 §4.1, OIDC Core §2).
  'aud',
  'azp',
  'exp',
  'iat',
  'nbf',
  'auth_time',
  'acr',
  'amr',
  // JOSE header (RFC 7515 §4.1, RFC 7516 §4.1).
  'alg',
  'enc',
  'kid',
  'typ',
  'cty',
])

/** How deep, and how wide, a shape goes before it is cut to {@link REDACTED}. */
const MAX_DEPTH = 4
const MAX_MEMBERS = 32

/** A value reduced to its shape: member names and array lengths, every leaf redacted. */
export function shapeOf(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return REDACTED
  if (Array.isArray(value)) {
    return value.slice(0, MAX_MEMBERS).map((item: unknown) => shapeOf(item, depth + 1))
  }
  // fromEntries defines members (a "__proto__" name stays a member, not a prototype).
  return Object.fromEntries(
    Object.entries(value)
      .slice(0, MAX_MEMBERS)
      .map(([name, member]) => [name.slice(0, 64), shapeOf(member, depth + 1)]),
  )
}

/** RFC 9396 §2: the `type` of each entry is public (the server lists them); the rest is shape. */
function authorizationDetailsOf(value: unknown): unknown {
  if (!Array.isArray(value)) return REDACTED
  return value.slice(0, MAX_MEMBERS).map((entry: unknown) => {
    const shape = shapeOf(entry, 1)
    if (typeof shape !== 'object' || shape === null || Array.isArray(shape)) return shape
    const type = (entry as { type?: unknown }).type
    return typeof type === 'string' ? { ...shape, type: type.slice(0, 64) } : shape
  })
}

/** One named value as a trace shows it. */
export function redactedValue(name: string, value: unknown): unknown {
  if (value === undefined) return undefined
  if (name === 'authorization_details') return authorizationDetailsOf(value)
  if (PUBLIC_NAMES.has(name)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return value
    }
    // `aud` and `amr` may be arrays of strings.
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value
  }
  return shapeOf(value)
}

/** A copy of `values` with every value not on the allow-list redacted or reduced to its shape. */
export function redacted(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name, redactedValue(name, value)]),
  )
}

/** A query value as a trace shows it: `authorization_details` JSON keeps its types and shape. */
function redactedQueryValue(name: string, value: string): string {
  if (PUBLIC_NAMES.has(name)) return value
  if (name !== 'authorization_details') return REDACTED
  try {
    return JSON.stringify(authorizationDetailsOf(JSON.parse(value)))
  } catch {
    return REDACTED
  }
}

/** A URL with every query parameter not on the allow-list redacted (the fragment dropped). */
export function redactedUrl(url: string): string {
  const parsed = new URL(url)
  for (const name of new Set(parsed.searchParams.keys())) {
    const values = parsed.searchParams.getAll(name)
    parsed.searchParams.delete(name)
    for (const value of values) parsed.searchParams.append(name, redactedQueryValue(name, value))
  }
  parsed.hash = ''
  return parsed.href
}
