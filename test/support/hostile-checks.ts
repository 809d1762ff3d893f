/**
 * What a strict FAPI authorization server (and a certification tester, specs.md section 2) checks
 * in a client's request objects and `private_key_jwt` assertions. Used by the hostile server to
 * refuse a misbehaving client and to record what it did wrong.
 */
import { decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'

/** A check's outcome: the value, or what was wrong. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string }

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const ALGORITHMS = ['PS256', 'ES256', 'EdDSA']
const SKEW = 300

interface Context {
  readonly clientId: string
  readonly issuer: string
  readonly keys: JWTVerifyGetKey
  /** Milliseconds. */
  readonly now: number
}

async function verify(jwt: string, context: Context): Promise<Checked<JWTPayload>> {
  try {
    const { payload } = await jwtVerify(jwt, context.keys, {
      algorithms: ALGORITHMS,
      currentDate: new Date(context.now),
      clockTolerance: SKEW,
    })
    return { ok: true, value: payload }
  } catch (error) {
    return { ok: false, problem: `signature or time claims: ${String(error)}` }
  }
}

function firstProblem(rules: readonly [boolean, string][]): string | undefined {
  return rules.find(([ok]) => !ok)?.[1]
}

/**
 * Checks `client_assertion_type`, the signature with the client's keys, `iss` = `sub` = client_id,
 * `aud` = `audience` (the issuer as a string, FAPI 2.0 §5.3.3.1 (5), or the endpoint URL), a never-seen `jti`, `exp`, `iat`.
 * Returns the problem, or undefined.
 */
export async function checkAssertion(
  form: URLSearchParams,
  context: Context & { readonly seenJtis: Set<string>; readonly audience: string },
): Promise<string | undefined> {
  if (form.get('client_assertion_type') !== JWT_BEARER)
    return 'assertion: wrong client_assertion_type'
  if (form.getAll('client_assertion').length !== 1)
    return 'assertion: not exactly one client_assertion'
  const verified = await verify(form.get('client_assertion') ?? '', context)
  if (!verified.ok) return `assertion: ${verified.problem}`
  const claims = verified.value
  const seconds = context.now / 1000
  const problem = firstProblem([
    [!form.has('client_id') || form.get('client_id') === context.clientId, 'client_id differs'],
    [claims.iss === context.clientId, 'iss is not the client_id'],
    [claims.sub === context.clientId, 'sub is not the client_id'],
    [
      claims.aud === context.audience,
      context.audience === context.issuer
        ? 'aud is not the issuer as a string'
        : 'aud is not the endpoint URL',
    ],
    [typeof claims.jti === 'string' && claims.jti !== '', 'jti missing'],
    [!context.seenJtis.has(String(claims.jti)), 'jti reused'],
    [typeof claims.exp === 'number' && claims.exp <= seconds + 86_400, 'exp missing or too late'],
    [typeof claims.iat === 'number', 'iat missing'],
  ])
  if (problem !== undefined) return `assertion: ${problem}`
  context.seenJtis.add(String(claims.jti))
  return undefined
}

/** Checks a request object as a FAPI certification tester does (specs.md section 2). */
export async function checkRequestObject(
  jwt: string,
  context: Context,
): Promise<Checked<{ header: Record<string, unknown>; payload: JWTPayload }>> {
  let header: Record<string, unknown>
  try {
    header = decodeProtectedHeader(jwt)
  } catch {
    return { ok: false, problem: 'request object: not a JWS' }
  }
  const verified = await verify(jwt, context)
  if (!verified.ok) return { ok: false, problem: `request object: ${verified.problem}` }
  const claims = verified.value
  const seconds = context.now / 1000
  const { exp, nbf } = claims
  const scope = typeof claims.scope === 'string' ? claims.scope.split(' ') : []
  const problem = firstProblem([
    [header.typ === undefined || String(header.typ).toLowerCase() === 'oauth-authz-req+jwt', 'typ'],
    [claims.iss === context.clientId, 'iss is not the client_id'],
    [
      claims.aud === context.issuer ||
        (Array.isArray(claims.aud) && claims.aud.includes(context.issuer)),
      'aud',
    ],
    [typeof exp === 'number' && exp <= seconds + 3600 + SKEW, 'exp missing or over 60 min'],
    [typeof nbf === 'number' && nbf >= seconds - 3600 && nbf <= seconds + SKEW, 'nbf'],
    [typeof exp === 'number' && typeof nbf === 'number' && exp - nbf <= 3600, 'exp - nbf > 60 min'],
    [claims.jti === undefined || typeof claims.jti === 'string', 'jti is not a string'],
    [!('request' in claims) && !('request_uri' in claims), 'request or request_uri inside'],
    [claims.sub !== context.clientId, 'sub is the client_id'],
    [claims.client_id === context.clientId, 'client_id'],
    [claims.response_type === 'code', 'response_type'],
    [typeof claims.redirect_uri === 'string', 'redirect_uri'],
    [scope.includes('openid'), 'scope lacks openid'],
    [typeof claims.nonce === 'string' && claims.nonce !== '', 'nonce'],
    [typeof claims.state === 'string' && claims.state !== '', 'state'],
    [typeof claims.code_challenge === 'string', 'code_challenge'],
    [claims.code_challenge_method === 'S256', 'code_challenge_method'],
  ])
  if (problem !== undefined) return { ok: false, problem: `request object: ${problem}` }
  return { ok: true, value: { header, payload: claims } }
}

/** The client-authentication fields of a form, which are not authorization parameters. */
const CLIENT_AUTH_FIELDS = new Set(['client_assertion', 'client_assertion_type'])

/** A JSON value, or the text itself when it is not JSON. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/**
 * Checks authorization parameters sent as they are (PAR form fields or a query, without a request
 * object), as FAPI 2.0 Security Profile allows: the same parameter rules as for a request object.
 */
export function checkPlainRequest(
  params: URLSearchParams,
  context: Pick<Context, 'clientId'>,
): Checked<{ header: Record<string, unknown>; payload: JWTPayload }> {
  const payload: Record<string, unknown> = {}
  for (const [name, value] of params) {
    if (CLIENT_AUTH_FIELDS.has(name)) continue
    if (name in payload) return { ok: false, problem: `request: ${name} more than once` }
    // RFC 9396 §2, OIDC Core §5.5: JSON in the query, as a server reads it.
    payload[name] =
      name === 'authorization_details' || name === 'claims' ? jsonOrText(value) : value
  }
  const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : []
  const problem = firstProblem([
    [payload.request_uri === undefined, 'request_uri'],
    [payload.client_id === context.clientId, 'client_id'],
    [payload.response_type === 'code', 'response_type'],
    [typeof payload.redirect_uri === 'string', 'redirect_uri'],
    [scope.includes('openid'), 'scope lacks openid'],
    [typeof payload.nonce === 'string' && payload.nonce !== '', 'nonce'],
    [typeof payload.state === 'string' && payload.state !== '', 'state'],
    [typeof payload.code_challenge === 'string', 'code_challenge'],
    [payload.code_challenge_method === 'S256', 'code_challenge_method'],
  ])
  if (problem !== undefined) return { ok: false, problem: `request: ${problem}` }
  return { ok: true, value: { header: {}, payload: payload as JWTPayload } }
}
