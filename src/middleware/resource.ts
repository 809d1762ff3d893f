/**
 * `fetchResource(req, url, init?)`: calls a resource server (or the userinfo endpoint) as the
 * logged-in user of `req`; when the core refreshed the login first, its new record is saved.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { ResourceRequestInit } from '../core/server/resource.js'
import { toFapiError } from '../errors.js'
import { storeLogin } from './refresh.js'
import { partOf, requireSession } from './session.js'

/** Calls a resource server as the logged-in user of a request. */
export type FetchResource = (
  req: IncomingMessage,
  url: string,
  init?: ResourceRequestInit,
) => Promise<Response>

/**
 * `fapiCustomerIpAddress: true` becomes the request's address: `req.ip` where Express set it (it
 * follows the app's `trust proxy`), else the socket's, without an IPv4-mapped prefix.
 */
function withCustomerAddress(req: IncomingMessage, init: ResourceRequestInit): ResourceRequestInit {
  if (init.fapiCustomerIpAddress !== true) return init
  const { ip } = req as IncomingMessage & { ip?: unknown }
  const address = typeof ip === 'string' && ip !== '' ? ip : (req.socket.remoteAddress ?? '')
  return { ...init, fapiCustomerIpAddress: address.replace(/^::ffff:(?=\d+\.)/, '') }
}

/** The helper factory. Internal: reached through `fapiClient().fetchResource`. */
export function createFetchResource(core: FapiCore): FetchResource {
  return async function fetchResource(req, url, init = {}) {
    try {
      const session = requireSession(req)
      const result = await core.fetchResource(
        partOf(session, core.sessionKey)?.login,
        url,
        withCustomerAddress(req, init),
      )
      if (result.refreshed !== undefined) await storeLogin(core, req, result.refreshed)
      return result.response
    } catch (error) {
      throw toFapiError(error)
    }
  }
}
