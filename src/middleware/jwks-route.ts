/**
 * The client's public keys, for the authorization server to fetch from the client's `jwks_uri`:
 * the signing keys (`use: sig`), the encryption keys (`use: enc`, for JARM responses and ID tokens
 * encrypted to this client), and, under `self_signed_tls_client_auth`, the client certificate as
 * `x5c` (RFC 8705 §2.2).
 *
 * @module
 */
import type { FapiCore } from '../core/client.js'
import { send, type Middleware } from './http.js'

/** The JWKS route factory. Internal: reached through `fapiClient().jwks()`. */
export function createJwksRoute(core: FapiCore): Middleware {
  const headers = {
    'Cache-Control': 'public, max-age=300',
    'Content-Type': 'application/jwk-set+json; charset=utf-8',
  }
  return function fapiJwks(req, res) {
    // Built per request: a key rotation (`updateKeys`, `updateTls`) changes it.
    send(req, res, 200, headers, JSON.stringify(core.publicJwks()))
  }
}
