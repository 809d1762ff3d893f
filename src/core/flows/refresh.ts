/**
 * Refreshing a login (FAPI 2.0 §5.3.3.1 (6), RFC 6749 §6) as a plain async function over plain
 * data: the refresh grant with the same client authentication as the code exchange (a fresh
 * assertion, or the client certificate at the mTLS alias), a DPoP proof with the login's key when
 * its tokens are DPoP-bound, the token response checked as at login, a new ID token validated
 * against the original (OIDC Core §12.2), and a rotated refresh token replacing the old one.
 * Refreshes of one login that overlap (parallel requests of one user, on any instance) share one
 * request to the server, so a rotating server never sees the old token twice.
 *
 * @module
 */
import { SessionError } from '../../errors.js'
import { SingleFlight } from '../coordination/single-flight.js'
import { keyOf } from '../coordination/store.js'
import { seal, unseal } from '../jwt/seal.js'
import { addClientAuthentication } from '../server/client-auth.js'
import type { DpopKey } from '../jwt/dpop.js'
import { signedIdToken, validateRefreshedIdToken } from '../jwt/id-token.js'
import { requestRefresh, type TokenSet } from '../server/token.js'
import { serverJwtContext, tokenEndpointOptions, type ClientContext } from './context.js'
import {
  generationOf,
  hasRefreshToken,
  loginIdOf,
  loginRequired,
  refreshDpopKey,
  storedAfterRefresh,
  type StoredLogin,
} from './stored-login.js'
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

/** How long a finished refresh answers requests that still hold its old tokens (ms). */
const REUSE_WINDOW = 10_000

/** How long the latest tokens of a login are kept for stale session copies (ms): a day. */
const LATEST_TTL = 86_400_000

/** How long a logout is remembered against refreshes still in flight (ms). */
export const ENDED_TTL = 600_000

/** Refreshes a stored login; resolves with the record to store. */
export type RefreshStored = (login: StoredLogin) => Promise<StoredLogin>

/** The latest tokens of a login, as shared through the coordination store. */
interface LatestTokens {
  readonly generation: number
  /** Milliseconds since the epoch. */
  readonly refreshedAt: number
  readonly claims: Readonly<Record<string, unknown>>
  readonly tokens: StoredLogin['tokens']
}

function isLatest(value: unknown): value is LatestTokens {
  if (typeof value !== 'object' || value === null) return false
  const { generation, refreshedAt, claims, tokens } = value as Record<string, unknown>
  return (
    typeof generation === 'number' &&
    typeof refreshedAt === 'number' &&
    typeof claims === 'object' &&
    claims !== null &&
    typeof tokens === 'object' &&
    tokens !== null &&
    typeof (tokens as { idToken?: unknown }).idToken === 'string'
  )
}

/**
 * The refresher of one client: one refresh in flight per login across instances (a lock in the
 * coordination store; the others wait and get its result), and the login's latest tokens kept in
 * the store, so that a request whose session copy is older (an app request that saved a stale
 * copy back, RFC 9700 §4.14.2) refreshes with the latest refresh token, never a rotated-out one.
 * A logged-out login is never refreshed. What goes to the store is sealed with `sessionSecrets`
 * when they are set.
 */
export function createRefresher(context: ClientContext): RefreshStored {
  const { config, coordination } = context
  const flights = new SingleFlight(coordination)
  const lockMs = config.httpTimeout * 4 + 5_000
  const timing = { lockMs, resultMs: REUSE_WINDOW, waitMs: lockMs }
  const encode = async (id: string, value: LatestTokens) =>
    config.sessionSecrets === undefined
      ? JSON.stringify(value)
      : JSON.stringify(await seal(config.sessionSecrets, value, `refresh:${id}`))
  const decode = async (id: string, text: string): Promise<LatestTokens | undefined> => {
    let parsed: unknown
    try {
      parsed = JSON.parse(text) as unknown
    } catch {
      return undefined
    }
    if (config.sessionSecrets !== undefined) {
      parsed = await unseal(config.sessionSecrets, parsed, `refresh:${id}`)
    }
    return isLatest(parsed) ? parsed : undefined
  }
  return async function refreshStored(login) {
    if (!hasRefreshToken(login)) {
      log.refresh('refresh refused: ERR_REFRESH_TOKEN_MISSING')
      throw new SessionError(
        'ERR_REFRESH_TOKEN_MISSING',
        'refresh: the login has no refresh token (the server issued none); log in again',
      )
    }
    const dpopKey = refreshDpopKey(login)
    const id = loginIdOf(login)
    const generation = generationOf(login)
    const text = await flights.run(keyOf('refresh', `${id}:${generation}`), timing, async () => {
      if ((await coordination.get(keyOf('ended', id))) !== undefined) throw loginRequired()
      const stored = await coordination.get(keyOf('latest', id))
      const latest = stored === undefined ? undefined : await decode(id, stored)
      if (
        latest !== undefined &&
        latest.generation > generation &&
        config.now() - latest.refreshedAt < REUSE_WINDOW
      ) {
        return encode(id, latest)
      }
      const base =
        latest !== undefined && latest.generation > generation
          ? latest
          : { generation, claims: login.claims, tokens: login.tokens }
      const refreshToken = base.tokens.refreshToken ?? ''
      log.refresh('refreshing a login (one request per login and generation, across instances)')
      const refreshed = await refreshLogin(context, {
        refreshToken,
        dpopKey,
        idToken: base.tokens.idToken,
        claims: base.claims,
        scope: typeof base.tokens.scope === 'string' ? base.tokens.scope : config.scope,
      }).catch((error: unknown) => {
        log.refresh('refresh failed: %s', failureOf(error))
        throw error
      })
      log.refresh('refreshed')
      const next: LatestTokens = {
        generation: base.generation + 1,
        refreshedAt: config.now(),
        claims: refreshed.claims,
        tokens: storedAfterRefresh(login, { ...refreshed, generation: 0 }).tokens,
      }
      const encoded = await encode(id, next)
      await coordination.set(keyOf('latest', id), encoded, LATEST_TTL)
      return encoded
    })
    const latest = await decode(id, text)
    if (latest === undefined) throw loginRequired()
    return storedAfterRefresh(login, latest)
  }
}
