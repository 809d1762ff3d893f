/**
 * express-openid-connect 3 with a request object signing key, the key pre-imported as a
 * CryptoKey (given a KeyObject, it re-imports the key on every login).
 */
import type { Express } from 'express'
import eoc from 'express-openid-connect'
import { cryptoKeyOf, type RouteContext } from './context.js'

/**
 * express-openid-connect 3 with a request object signing key (JAR by value, no PAR), code flow
 * with `private_key_jwt`. It keeps its transaction in its own signed cookie, not in
 * express-session, and it supports no JARM (`response_mode` is `query`).
 */
export async function expressOpenidConnect(app: Express, ctx: RouteContext): Promise<string> {
  const key = await cryptoKeyOf(ctx)
  const original = console.warn
  // It warns once that JAR without PAR is not FAPI; that is the configuration measured.
  console.warn = () => {}
  try {
    app.use(
      eoc.auth({
        issuerBaseURL: ctx.issuer,
        baseURL: ctx.origin,
        clientID: ctx.clientId,
        secret: 'bench-secret-bench-secret-bench-secret',
        authRequired: false,
        enableTelemetry: false,
        authorizationParams: { response_type: 'code', response_mode: 'query', scope: 'openid' },
        clientAssertionSigningKey: key,
        clientAssertionSigningAlg: ctx.alg,
        requestObjectSigningKey: key,
        requestObjectSigningAlg: ctx.alg,
        requestObjectSigningKeyId: ctx.privateJwk.kid,
        pushedAuthorizationRequests: false,
        routes: { login: '/login', callback: '/auth/callback', logout: false },
      }),
    )
  } finally {
    console.warn = original
  }
  return '/login'
}
