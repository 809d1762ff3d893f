/**
 * `fetchResource(req, url, init?)`: calls a resource server (or the userinfo endpoint) as the
 * logged-in user of `req` (its grant, refreshed first in the grant store when expired).
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { FapiCore } from '../core/client.js'
import type { ResourceRequestInit } from '../core/server/resource.js'
import { toFapiError } from '../errors.js'
import { grantIdOf } from './grants.js'
import { requireSession } from './session.js'

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
      return await core.fetchResource(
        grantIdOf(requireSession(req), core.sessionKey),
        url,
        withCustomerAddress(req, init),
      )
    } catch (error) {
      throw toFapiError(error)
    }
  }
}
