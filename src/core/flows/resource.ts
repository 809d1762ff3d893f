/**
 * A resource call as the logged-in user: the stored login's token, bound as it was issued (DPoP
 * with a proof, the client certificate, or plain bearer under `senderConstraint: 'none'`); an
 * expired access token is refreshed once first when the login has a refresh token.
 *
 * @module
 */
import { isAllowedServerUrl } from '../../config/index.js'
import {
  callResource,
  httpDate,
  type BoundToken,
  type ResourceRequestInit,
} from '../server/resource.js'
import type { ClientContext } from './context.js'
import type { RefreshStored } from './refresh.js'
import {
  accessTokenExpired,
  boundToken,
  hasRefreshToken,
  type SessionLogin,
  type StoredLogin,
} from './stored-login.js'

/** Statuses whose responses have no body (the Fetch standard's null body statuses). */
const NULL_BODY = new Set([101, 103, 204, 205, 304])

/** The resource server's answer, and the login record when a refresh changed it (store it). */
export interface ResourceResult {
  readonly response: Response
  readonly refreshed: SessionLogin | undefined
}

/** Calls a resource server with a stored login's token. */
export async function fetchResourceAs(
  context: ClientContext,
  refreshStored: RefreshStored,
  login: StoredLogin,
  url: string,
  init: ResourceRequestInit,
): Promise<{ readonly response: Response; readonly refreshed: StoredLogin | undefined }> {
  const { config } = context
  let refreshed: StoredLogin | undefined
  // Once, before the call: an expired token would only earn a 401.
  if (accessTokenExpired(login, config) && hasRefreshToken(login)) {
    refreshed = await refreshStored(login)
  }
  const current = refreshed ?? login
  const authTime = current.claims.auth_time
  const withDate: ResourceRequestInit = init.fapiAuthDate
    ? {
        ...init,
        headers: {
          ...init.headers,
          'x-fapi-auth-date': httpDate(
            typeof authTime === 'number' ? authTime * 1000 : current.loggedInAt,
          ),
        },
      }
    : init
  const response = await callWithToken(context, boundToken(current, config), url, withDate)
  return { response, refreshed }
}

/** Calls a resource server with a bound token (a login's or the client's own). */
export async function callWithToken(
  context: ClientContext,
  token: BoundToken,
  url: string,
  init: ResourceRequestInit,
): Promise<Response> {
  const { config } = context
  const aliases = token.certificate ? (await context.discovery.get()).resourceAliases : {}
  const answer = await callResource(url, init, token, {
    httpTimeout: config.httpTimeout,
    maxResponseBytes: config.maxResponseBytes,
    agents: config.agents,
    httpTimer: config.httpTimer,
    nonces: context.nonces,
    now: config.now,
    aliases,
    isAllowedUrl: (target) => isAllowedServerUrl(target, config.allowInsecureLoopback),
  })
  return new Response(NULL_BODY.has(answer.status) ? null : answer.body, {
    status: answer.status,
    headers: answer.headers,
  })
}
