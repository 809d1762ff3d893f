/**
 * Refreshing a login (FAPI 2.0 §5.3.3.1 (6), RFC 6749 §6) as a plain async function over plain
 * data: the refresh grant with the same client authentication as the code exchange (a fresh
 * assertion, or the client certificate at the mTLS alias), a DPoP proof with the login's key when
 * its tokens are DPoP-bound, the token response checked as at login, a new ID token validated
 * against the original (OIDC Core §12.2), and a rotated refresh token replacing the old one.
 * Refreshes of one grant that overlap (parallel requests of one user, a background job, on any
 * instance) share one request to the server, so a rotating server never sees the old token twice;
 * the result is kept by a compare-and-set on the grant's generation in the grant store.
 *
 * @module
 */
import { SessionError } from '../../errors.js'
import { SingleFlight } from '../coordination/single-flight.js'
import { keyOf } from '../coordination/store.js'
import { addClientAuthentication } from '../server/client-auth.js'
import type { DpopKey } from '../jwt/dpop.js'
import { signedIdToken, validateRefreshedIdToken } from '../jwt/id-token.js'
import { requestRefresh, type TokenSet } from '../server/token.js'
import { serverJwtContext, tokenEndpointOptions, type ClientContext } from './context.js'
import {
  grantAfterRefresh,
  hasRefreshToken,
  loginRequired,
  refreshDpopKey,
} from '../grants/grant.js'
import { activeGrant } from '../grants/lifecycle.js'
import { recordOf, type ActiveGrant } from '../grants/record.js'
import { revokeLogin } from './revocation.js'
import { failureOf, log } from '../log.js'

/** What a refresh needs of a stored login. */
export interface RefreshableLogin {
  readonly refreshToken: string
  /** Present exactly when the login's tokens are DPoP-bound. */
  readonly dpopKey: DpopKey | undefined
  /** The current signed ID token, kept when the server sends no new one. */
  readonly idToken: string
  /** The claims of the original ID token. */
  readonly claims: Readonly<Record<string, unknown>>
  /** The login's scope: the granted scope when the server does not repeat it. */
  readonly scope: string
}

/** A refreshed login: the tokens to keep and the claims to keep. */
export interface RefreshedLogin {
  readonly claims: Readonly<Record<string, unknown>>
  readonly tokens: TokenSet
}

/**
 * Refreshes a login's tokens. A new `refresh_token` replaces the old one (rotation); without one
 * the old one is kept. A new `id_token` replaces the claims once it is valid and names the same
 * user; without one the claims are kept.
 */
export async function refreshLogin(
  context: ClientContext,
  login: RefreshableLogin,
): Promise<RefreshedLogin> {
  const { config } = context
  const metadata = await context.discovery.get()
  const tokens = await requestRefresh(
    metadata.tokenEndpoint,
    () =>
      addClientAuthentication(
        new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.refreshToken }),
        config,
        metadata.signingKey,
        metadata.tokenEndpoint,
      ),
    tokenEndpointOptions(context, login.dpopKey, login.scope),
  )
  let claims = login.claims
  let idToken = login.idToken
  if (tokens.idToken !== undefined) {
    idToken = await signedIdToken(tokens.idToken, {
      keys: config.encryptionKeys,
      required: config.encryption.idToken,
    })
    claims = {
      ...(await validateRefreshedIdToken(
        idToken,
        {
          ...serverJwtContext(context, metadata.idTokenAlgorithms),
          accessToken: tokens.accessToken,
          iatMaxAge: config.idTokenMaxAge,
        },
        login.claims,
      )),
    }
  }
  const rotated = tokens.refreshToken !== undefined && tokens.refreshToken !== ''
  return {
    claims,
    tokens: {
      ...tokens,
      idToken,
      // Rotation: the new refresh token replaces the old one, which is never sent again.
      refreshToken: rotated ? tokens.refreshToken : login.refreshToken,
    },
  }
}

/** How long a finished refresh answers the callers that waited for it (ms). */
const REUSE_WINDOW = 10_000

/** Refreshes an active grant; resolves with the grant as stored after the refresh. */
export type RefreshGrant = (grant: ActiveGrant) => Promise<ActiveGrant>

/**
 * The refresher of one client: one refresh in flight per grant and generation across instances
 * (a lock in the coordination store; the others wait, then read the grant), and the refreshed
 * tokens kept by a compare-and-set on the generation in the grant store. A grant that ended
 * before the refresh finished (a logout on any instance) keeps nothing: what the refresh minted
 * is revoked at once, and the caller gets `ERR_LOGIN_REQUIRED`.
 */
export function createRefresher(context: ClientContext): RefreshGrant {
  const { config, coordination } = context
  const flights = new SingleFlight(coordination)
  const lockMs = config.httpTimeout * 4 + 5_000
  const timing = { lockMs, resultMs: REUSE_WINDOW, waitMs: lockMs }
  return async function refreshGrant(grant) {
    if (!hasRefreshToken(grant)) {
      log.refresh('refresh refused: ERR_REFRESH_TOKEN_MISSING')
      throw new SessionError(
        'ERR_REFRESH_TOKEN_MISSING',
        'refresh: the login has no refresh token (the server issued none); log in again',
      )
    }
    refreshDpopKey(grant)
    const key = keyOf('refresh', `${grant.id}:${String(grant.generation)}`)
    await flights.run(key, timing, async () => {
      const current = await activeGrant(context, grant.id)
      // Another refresh of this generation finished first (on any instance): nothing to do.
      if (current.generation > grant.generation) return 'done'
      log.refresh('refreshing a grant (one request per grant and generation, across instances)')
      const refreshed = await refreshLogin(context, {
        refreshToken: current.tokens.refreshToken ?? '',
        dpopKey: refreshDpopKey(current),
        idToken: current.tokens.idToken,
        claims: current.claims,
        scope: typeof current.tokens.scope === 'string' ? current.tokens.scope : config.scope,
      }).catch((error: unknown) => {
        log.refresh('refresh failed: %s', failureOf(error))
        throw error
      })
      const next = grantAfterRefresh(current, refreshed, config)
      const record = await recordOf(next, config.sessionSecrets)
      if (!(await context.grants.update(record, current.generation))) {
        // The grant ended meanwhile: what this refresh minted is revoked, never kept.
        log.refresh('the grant ended during its refresh: the new tokens are revoked')
        await revokeLogin(context, next)
        throw loginRequired()
      }
      log.refresh('refreshed')
      return 'done'
    })
    return activeGrant(context, grant.id)
  }
}
