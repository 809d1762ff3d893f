/**
 * The client's public keys, for the authorization server to fetch from the client's `jwks_uri`:
 * the signing keys (`use: sig`), the encryption keys (`use: enc`, for JARM responses and ID tokens
 * encrypted to this client), and, under `self_signed_tls_client_auth`, the client certificate as
 * `x5c` (RFC 8705 §2.2).
 *
 * @module
 */
import type { RequestHandler } from 'express'
import type { Config } from '../config/index.js'

/** The JWKS route factory. Internal: reached through `fapiClient().jwks()`. */
export function createJwksRoute(config: Config): RequestHandler {
  const keys = [
    ...config.signingKeys.map((key) => key.publicJwk),
    ...config.encryptionKeys.map((key) => key.publicJwk),
    ...(config.clientAuthMethod === 'self_signed_tls_client_auth' &&
    config.certificateJwk !== undefined
      ? [config.certificateJwk]
      : []),
  ]
  const body = JSON.stringify({ keys })
  return function fapiJwks(_req, res) {
    res.set('Cache-Control', 'public, max-age=300')
    res.type('application/jwk-set+json').send(body)
  }
}
