/**
 * `fetchResource(req, url, init?)`: calls a resource server (or the userinfo endpoint) as the
 * logged-in user of `req`, with the token bound as the login was: DPoP with a proof, or over mTLS
 * with the client certificate, or as a plain bearer token under `senderConstraint: 'none'`. An
 * expired access token (by `expiresAt`, within the clock tolerance) is refreshed once first when
 * the login has a refresh token.
 *
 * @module
 */
import type { Request } from 'express'
import { isAllowedServerUrl } from '../config/index.js'
import { isDpopKey } from '../core/jwt/dpop.js'
import type { ClientContext } from '../core/flows/login.js'
import { callResource, type BoundToken, type ResourceRequestInit } from '../core/server/resource.js'
import type { Config } from '../config/index.js'
import {
  accessTokenExpired,
  hasRefreshToken,
  loginRequired,
  requireLogin,
  type RefreshStored,
} from './refresh.js'
import { toFapiError } from './request.js'
import type { StoredLogin } from './session.js'

/** Calls a resource server as the logged-in user of a request. */
export type FetchResource = (
  req: Request,
  url: string,
  init?: ResourceRequestInit,
) => Promise<Response>

/** Statuses whose responses have no body (the Fetch standard's null body statuses). */
const NULL_BODY = new Set([101, 103, 204, 205, 304])

/** The login's token and binding, or `ERR_LOGIN_REQUIRED`. */
function boundToken(login: StoredLogin, config: Config): BoundToken {
  const { accessToken, tokenType } = login.tokens
  if (typeof accessToken !== 'string' || accessToken === '') throw loginRequired()
  if (tokenType === 'DPoP') {
    // A DPoP-bound token is useless (and never sent) without its key.
    if (!isDpopKey(login.dpopKey)) throw loginRequired()
    return { accessToken, tokenType, dpopKey: login.dpopKey, certificate: false }
  }
  if (tokenType !== 'Bearer') throw loginRequired()
  return {
    accessToken,
    tokenType,
    dpopKey: undefined,
    certificate: config.senderConstraint === 'mtls',
  }
}

/** The helper factory. Internal: reached through `fapiClient().fetchResource`. */
export function createFetchResource(
  context: ClientContext,
  refreshStored: RefreshStored,
): FetchResource {
  const { config } = context
  return async function fetchResource(req, url, init = {}) {
    try {
      let login = requireLogin(req, context)
      // Once, before the call: an expired token would only earn a 401.
      if (accessTokenExpired(login, context) && hasRefreshToken(login)) {
        login = await refreshStored(req, login)
      }
      const token = boundToken(login, config)
      const aliases = token.certificate ? (await context.discovery.get()).resourceAliases : {}
      const response = await callResource(url, init, token, {
        httpTimeout: config.httpTimeout,
        maxResponseBytes: config.maxResponseBytes,
        agents: config.agents,
        nonces: context.nonces,
        now: config.now,
        aliases,
        isAllowedUrl: (target) => isAllowedServerUrl(target, config.allowInsecureLoopback),
      })
      return new Response(NULL_BODY.has(response.status) ? null : response.body, {
        status: response.status,
        headers: response.headers,
      })
    } catch (error) {
      throw toFapiError(error)
    }
  }
}
