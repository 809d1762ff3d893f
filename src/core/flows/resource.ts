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
import type { RefreshGrant } from './refresh.js'
import { accessTokenExpired, boundToken, hasRefreshToken } from '../grants/grant.js'
import type { ActiveGrant } from '../grants/record.js'

/** Statuses whose responses have no body (the Fetch standard's null body statuses). */
const NULL_BODY = new Set([101, 103, 204, 205, 304])

/** Calls a resource server with a stored login's token. */
export async function fetchResourceAs(
  context: ClientContext,
  refreshGrant: RefreshGrant,
  grant: ActiveGrant,
  url: string,
  init: ResourceRequestInit,
): Promise<Response> {
  const { config } = context
  // Once, before the call: an expired token would only earn a 401.
  const current =
    accessTokenExpired(grant, config) && hasRefreshToken(grant) ? await refreshGrant(grant) : grant
  const authTime = current.claims.auth_time
  const withDate: ResourceRequestInit = init.fapiAuthDate
    ? {
        ...init,
        headers: {
          ...init.headers,
          'x-fapi-auth-date': httpDate(
            typeof authTime === 'number' ? authTime * 1000 : current.createdAt,
          ),
        },
      }
    : init
  return callWithToken(context, boundToken(current, config), url, withDate)
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
