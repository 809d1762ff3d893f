/**
 * The userinfo endpoint (OIDC Core §5.3) called with a stored login's token, bound as it was
 * issued: a JSON answer, or a signed (and optionally encrypted) JWT verified like an ID token
 * (the server's keys, allow-listed algorithms, `iss`, `aud`); either way its `sub` must be the ID
 * token's (§5.3.4), or nothing of it is used.
 *
 * @module
 */
import { FapiError, ServerResponseError } from '../../errors.js'
import { decryptJwe, isCompactJwe } from '../jwt/encryption.js'
import { verifyJws } from '../jwt/jws.js'
import { serverJwtContext, type ClientContext } from './context.js'
import type { RefreshGrant } from './refresh.js'
import { fetchResourceAs } from './resource.js'
import type { ActiveGrant } from '../grants/record.js'

function invalid(message: string, cause?: unknown): ServerResponseError {
  return new ServerResponseError('ERR_USERINFO_INVALID', `userinfo: ${message}`, cause)
}

/** A signed (maybe encrypted) userinfo response, verified like an ID token (OIDC Core §5.3.2). */
async function verifiedJwt(context: ClientContext, body: string): Promise<Record<string, unknown>> {
  const { config } = context
  const metadata = await context.discovery.get()
  let jws = body
  try {
    if (isCompactJwe(body)) {
      if (config.encryptionKeys.length === 0)
        throw invalid('encrypted, but this client has no keys.encryption')
      jws = await decryptJwe(body, {
        kind: 'ID_TOKEN',
        label: 'userinfo',
        keys: config.encryptionKeys,
      })
    }
    const { payload } = await verifyJws(jws, {
      ...serverJwtContext(context, metadata.idTokenAlgorithms),
      kind: 'ID_TOKEN',
      requiredClaims: ['sub'],
    })
    return payload as Record<string, unknown>
  } catch (error) {
    if (error instanceof ServerResponseError && error.code === 'ERR_USERINFO_INVALID') throw error
    const code = error instanceof FapiError ? ` (${error.code})` : ''
    throw invalid(`the signed response does not verify like an ID token${code}`, error)
  }
}

/** Calls the userinfo endpoint and returns its claims once `sub` matched the ID token's. */
export async function fetchUserinfo(
  context: ClientContext,
  refreshGrant: RefreshGrant,
  grant: ActiveGrant,
): Promise<Readonly<Record<string, unknown>>> {
  const endpoint = (await context.discovery.get()).userinfoEndpoint
  if (endpoint === undefined) {
    throw new ServerResponseError(
      'ERR_USERINFO_UNAVAILABLE',
      'the server has no "userinfo_endpoint"',
    )
  }
  const response = await fetchResourceAs(context, refreshGrant, grant, endpoint, {
    headers: { accept: 'application/json, application/jwt' },
  })
  if (response.status !== 200) {
    throw new ServerResponseError(
      'ERR_USERINFO_REJECTED',
      `userinfo: the server answered HTTP ${response.status}`,
    )
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  const body = await response.text()
  let claims: Record<string, unknown>
  if (type === 'application/jwt') {
    claims = await verifiedJwt(context, body.trim())
  } else {
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      throw invalid('the answer is neither JSON nor application/jwt')
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw invalid('the answer is not a JSON object')
    }
    claims = parsed as Record<string, unknown>
  }
  // OIDC Core §5.3.4: another sub means the answer is not about this user; none of it is used.
  const expected = grant.sub
  if (typeof claims.sub !== 'string' || claims.sub !== expected) {
    throw new ServerResponseError(
      'ERR_USERINFO_SUB_MISMATCH',
      'userinfo: "sub" is not the ID token\'s (OIDC Core §5.3.4)',
    )
  }
  return claims
}
