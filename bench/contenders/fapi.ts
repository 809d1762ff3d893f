/**
 * express-fapi as a user mounts it: `fapiClient()` with the same private JWK as the floors,
 * profile `fapi1-advanced`, request objects by value (no PAR), JARM `jwt`. The same middleware
 * serves the Express 5 and the Connect 3 contenders.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as Fapi from '../../src/index.js'
import type { RouteContext } from './context.js'

/** A middleware over node:http types, as `login()` and `callback()` return it. */
export type FapiMiddleware = ReturnType<Fapi.FapiClient['login']>

/** express-fapi from `ctx.fapiSrc` (the repo's `src`, or a patched copy to measure a change). */
export async function fapiRoutes(
  ctx: RouteContext,
): Promise<{ login: FapiMiddleware; callback: FapiMiddleware; client: Fapi.FapiClient }> {
  const url = pathToFileURL(join(ctx.fapiSrc, 'index.ts')).href
  const fapi = (await import(url)) as typeof Fapi
  const auth = fapi.fapiClient({
    issuer: ctx.issuer,
    clientId: ctx.clientId,
    redirectUri: ctx.redirectUri,
    keys: { signing: [ctx.privateJwk] },
    profile: 'fapi1-advanced',
    senderConstraint: 'none',
    pushedAuthorizationRequests: false,
    responseMode: 'jwt',
    scope: 'openid',
    allowInsecureLoopback: true,
  })
  await auth.ready()
  return { login: auth.login(), callback: auth.callback(), client: auth }
}
