/**
 * Refreshing a login (FAPI 2.0 §5.3.3.1 (6), RFC 6749 §6) as a plain async function over plain
 * data: the refresh grant with the same client authentication as the code exchange (a fresh
 * assertion, or the client certificate at the mTLS alias), a DPoP proof with the login's key when
 * its tokens are DPoP-bound, the token response checked as at login, a new ID token validated
 * against the original (OIDC Core §12.2), and a rotated refresh token replacing the old one.
 * Refreshes of the same refresh token that overlap (parallel requests of one user) share one
 * request to the server, so a rotating server never sees the old token twice.
 *
 * @module
 */
import { SessionError } from '../../errors.js'
import { addClientAuthentication } from '../server/client-auth.js'
import type { DpopKey } from '../jwt/dpop.js'
import { signedIdToken, validateRefreshedIdToken } from '../jwt/id-token.js'
import { requestRefresh, type TokenSet } from '../server/token.js'
import { serverJwtContext, tokenEndpointOptions, type ClientContext } from './context.js'
import { refreshDpopKey, storedAfterRefresh, type StoredLogin } from './stored-login.js'
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

/** How long a finished refresh answers requests that still hold its old refresh token (ms). */
const REUSE_WINDOW = 10_000

/** At most this many refreshes are remembered. */
const MAX_RECENT = 1000

/** Refreshes a stored login; resolves with the record to store. */
export type RefreshStored = (login: StoredLogin) => Promise<StoredLogin>

/**
 * The single-flight refresher of one client: refreshes by the refresh token they used, in flight,
 * then kept for a few seconds after success, so that a parallel request whose session copy still
 * holds the old (rotated) token gets the same result instead of sending the old token again.
 * Bounded.
 */
export function createRefresher(context: ClientContext): RefreshStored {
  const recent = new Map<string, { result: Promise<RefreshedLogin>; until: number }>()
  return async function refreshStored(login) {
    const { refreshToken } = login.tokens
    if (typeof refreshToken !== 'string' || refreshToken === '') {
      log.refresh('refresh refused: ERR_REFRESH_TOKEN_MISSING')
      throw new SessionError(
        'ERR_REFRESH_TOKEN_MISSING',
        'refresh: the login has no refresh token (the server issued none); log in again',
      )
    }
    const dpopKey = refreshDpopKey(login)
    const now = context.config.now()
    for (const [token, entry] of recent) {
      if (entry.until <= now) recent.delete(token)
    }
    let pending = recent.get(refreshToken)?.result
    if (pending === undefined) {
      const result = refreshLogin(context, {
        refreshToken,
        dpopKey,
        idToken: login.tokens.idToken,
        claims: login.claims,
        scope: typeof login.tokens.scope === 'string' ? login.tokens.scope : context.config.scope,
      })
      pending = result
      log.refresh('refreshing a login (one request per refresh token)')
      recent.set(refreshToken, { result, until: Number.POSITIVE_INFINITY })
      for (const token of recent.keys()) {
        if (recent.size <= MAX_RECENT) break
        recent.delete(token)
      }
      result.then(
        () => {
          log.refresh('refreshed')
          const entry = recent.get(refreshToken)
          if (entry?.result === result) entry.until = context.config.now() + REUSE_WINDOW
        },
        (error: unknown) => {
          log.refresh('refresh failed: %s', failureOf(error))
          if (recent.get(refreshToken)?.result === result) recent.delete(refreshToken)
        },
      )
    }
    return storedAfterRefresh(login, await pending)
  }
}
