/**
 * OpenID Connect Back-Channel Logout 1.0: the server posts a logout token; once it passed the
 * checks of §2.6, in order, every grant it names (by `sid`, by `sub`, or both) ends in the grant
 * store, so the user's sessions on every instance are logged out at their next request. A logout
 * token is never an ID token (§4.1): explicit `typ` when present, an `events` member, no
 * `nonce`; its `jti` is accepted once across instances (the coordination store).
 *
 * @module
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
 */
import type { JWTPayload } from 'jose'
import { FapiError } from '../../errors.js'
import { keyOf } from '../coordination/store.js'
import { verifyJws } from '../jwt/jws.js'
import { parseCompactJws } from '../jwt/verify.js'
import { endGrant } from '../grants/lifecycle.js'
import { serverJwtContext, type ClientContext } from './context.js'
import { log } from '../log.js'

/** The member of `events` that makes a JWT a logout token (§2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** The longest logout token read (characters). */
const MAX_TOKEN = 16_384

function invalid(code: ConstructorParameters<typeof FapiError>[0], message: string): FapiError {
  return new FapiError(code, `logout token: ${message}`)
}

/** §2.6 (1): a compact JWS (an encrypted logout token is not accepted: none is registered). */
function compactJws(token: string): void {
  if (token.length > MAX_TOKEN || typeof parseCompactJws(token) === 'string') {
    throw invalid('ERR_LOGOUT_TOKEN_MALFORMED', 'not a compact JWS')
  }
}

/** §2.4 explicit typing: a `typ` header, when the server sets one, is `logout+jwt`. */
function explicitType(token: string): void {
  const parsed = parseCompactJws(token)
  const typ = typeof parsed === 'string' ? undefined : parsed.header.typ
  if (typ === undefined) return
  const normalised = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : ''
  if (normalised !== 'logout+jwt') {
    throw invalid('ERR_LOGOUT_TOKEN_TYP_INVALID', '"typ" is not "logout+jwt"')
  }
}

/** §2.6 (2): signature, `alg`, `iss`, `aud`, `iat`, `exp` as for an ID token; `jti` present. */
async function verified(context: ClientContext, token: string): Promise<JWTPayload> {
  const metadata = await context.discovery.get()
  const { payload } = await verifyJws(token, {
    ...serverJwtContext(context, metadata.idTokenAlgorithms),
    kind: 'LOGOUT_TOKEN',
    requiredClaims: ['iat', 'exp', 'jti'],
  })
  if (typeof payload.jti !== 'string' || payload.jti === '' || typeof payload.exp !== 'number') {
    throw invalid('ERR_LOGOUT_TOKEN_CLAIMS_INVALID', '"jti" or "exp" is not of its type')
  }
  return payload
}

/** §2.6 (3): a `sid`, a `sub`, or both, as strings. */
function subject(payload: JWTPayload): { sid: string | undefined; sub: string | undefined } {
  const { sid, sub } = payload as { sid?: unknown; sub?: unknown }
  const ok = (value: unknown) => typeof value === 'string' && value !== ''
  if (
    (sid !== undefined && !ok(sid)) ||
    (sub !== undefined && !ok(sub)) ||
    (!ok(sid) && !ok(sub))
  ) {
    throw invalid('ERR_LOGOUT_TOKEN_SUBJECT_MISSING', 'neither "sid" nor "sub" names a session')
  }
  return { sid: sid as string | undefined, sub: sub as string | undefined }
}

/** §2.6 (4): `events` has the back-channel logout member, a JSON object. */
function logoutEvent(payload: JWTPayload): void {
  const { events } = payload as { events?: unknown }
  const member =
    typeof events === 'object' && events !== null && !Array.isArray(events)
      ? (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT]
      : undefined
  if (typeof member !== 'object' || member === null || Array.isArray(member)) {
    throw invalid(
      'ERR_LOGOUT_TOKEN_EVENTS_INVALID',
      `"events" has no "${BACKCHANNEL_LOGOUT_EVENT}" object`,
    )
  }
}

/** §2.6 (5), §4.1: no `nonce` (an ID token has one: never accepted as a logout token). */
function noNonce(payload: JWTPayload): void {
  if (Object.hasOwn(payload, 'nonce')) {
    throw invalid('ERR_LOGOUT_TOKEN_NONCE_PRESENT', 'a "nonce" is present')
  }
}

/** §2.6 (6): the `jti` is accepted once, across instances, while the token could be valid. */
async function firstUse(context: ClientContext, payload: JWTPayload): Promise<void> {
  const { config } = context
  const until = ((payload.exp as number) + config.clockTolerance) * 1000
  const ttl = Math.min(Math.max(until - config.now(), 60_000), 7 * 86_400_000)
  const key = keyOf('logout-jti', `${config.issuer}\n${String(payload.jti)}`)
  if (!(await context.coordination.claim(key, ttl))) {
    throw invalid('ERR_LOGOUT_TOKEN_REPLAYED', 'its "jti" was received already')
  }
}

/** The grants a valid logout token names: by `sid` (and `sub` when both are given), or by `sub`. */
async function namedGrants(
  context: ClientContext,
  who: { sid: string | undefined; sub: string | undefined },
): Promise<readonly string[]> {
  const issuer = context.config.issuer
  if (who.sid === undefined) return context.grants.find({ issuer, sub: who.sub ?? '' })
  const bySid = await context.grants.find({ issuer, sid: who.sid })
  if (who.sub === undefined) return bySid
  const bySub = new Set(await context.grants.find({ issuer, sub: who.sub }))
  return bySid.filter((id) => bySub.has(id))
}

/**
 * Checks a logout token (§2.6, in order) and ends the grants it names, on every instance;
 * resolves with how many grants it ended. Rejects with an `ERR_LOGOUT_TOKEN_*` code (answer 400).
 */
export async function backchannelLogout(context: ClientContext, token: string): Promise<number> {
  compactJws(token)
  explicitType(token)
  const payload = await verified(context, token)
  const who = subject(payload)
  logoutEvent(payload)
  noNonce(payload)
  await firstUse(context, payload)
  let ended = 0
  for (const id of await namedGrants(context, who)) {
    if ((await endGrant(context, id)) !== 'no-login') ended += 1
  }
  log.callback('back-channel logout: %d grant(s) ended', ended)
  return ended
}

/** The `iss` a logout token claims, unverified: to pick the server that verifies it, nothing else. */
export function claimedIssuer(token: string): string | undefined {
  if (token.length > MAX_TOKEN) return undefined
  const parsed = parseCompactJws(token)
  if (typeof parsed === 'string') return undefined
  const { iss } = parsed.payload as { iss?: unknown }
  return typeof iss === 'string' ? iss : undefined
}
