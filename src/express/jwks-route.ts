/**
 * The client's public keys, for the authorization server to fetch from the client's `jwks_uri`.
 *
 * @module
 */
import type { RequestHandler } from 'express'
import type { Config } from '../config.js'

/** The JWKS route factory. Internal: reached through `fapiClient().jwks()`. */
export function createJwksRoute(config: Config): RequestHandler {
  const body = JSON.stringify({ keys: config.signingKeys.map((key) => key.publicJwk) })
  return function fapiJwks(_req, res) {
    res.set('Cache-Control', 'public, max-age=300')
    res.type('application/jwk-set+json').send(body)
  }
}
