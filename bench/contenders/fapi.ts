/**
 * express-fapi as a user mounts it: `fapiClient()` with the same private JWK as the floors,
 * profile `fapi1-advanced`, request objects by value (no PAR), JARM `jwt`. The same middleware
 * serves the Express 5 and the Connect 3 contenders. With `signer: true`, the same key sits
 * behind an external signer instead (`login-fapi-signer`).
 */
import { constants, createPrivateKey, sign } from 'node:crypto'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as Fapi from '../../src/index.js'
import type { RouteContext } from './context.js'

/** A middleware over node:http types, as `login()` and `callback()` return it. */
export type FapiMiddleware = ReturnType<Fapi.FapiClient['login']>

/** Members of a private JWK that its public half leaves out (RFC 7518 §6.2.2, §6.3.2). */
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'])

/**
 * An in-process async signer over the contender's private JWK: what a KMS or HSM signer is,
 * minus its round trip and its own CPU. `crypto.sign` with a callback (threadpool) on a cached
 * `KeyObject`, as the login floor signs, so that the difference from `login-fapi` is the signer
 * path in express-fapi alone.
 */
export function inProcessSigner(ctx: RouteContext): Fapi.ExternalSigner {
  const key = createPrivateKey({ key: ctx.privateJwk, format: 'jwk' })
  const options =
    ctx.alg === 'PS256'
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : { key, dsaEncoding: 'ieee-p1363' as const }
  const publicJwk = Object.fromEntries(
    Object.entries(ctx.privateJwk).filter(([member]) => !PRIVATE_MEMBERS.has(member)),
  )
  return {
    kid: ctx.privateJwk.kid,
    alg: ctx.alg,
    publicJwk,
    sign: (data) =>
      new Promise((resolve, reject) => {
        sign('sha256', data, options, (error, signature) =>
          error ? reject(error) : resolve(signature),
        )
      }),
  }
}

/** express-fapi from `ctx.fapiSrc` (the repo's `src`, or a patched copy to measure a change). */
export async function fapiRoutes(
  ctx: RouteContext,
  { signer = false, grants }: { signer?: boolean; grants?: Fapi.GrantStore } = {},
): Promise<{ login: FapiMiddleware; callback: FapiMiddleware; client: Fapi.FapiClient }> {
  const url = pathToFileURL(join(ctx.fapiSrc, 'index.ts')).href
  const fapi = (await import(url)) as typeof Fapi
  const auth = fapi.fapiClient({
    issuer: ctx.issuer,
    clientId: ctx.clientId,
    redirectUri: ctx.redirectUri,
    keys: { signing: [signer ? inProcessSigner(ctx) : ctx.privateJwk] },
    profile: 'fapi1-advanced',
    senderConstraint: 'none',
    pushedAuthorizationRequests: false,
    responseMode: 'jwt',
    scope: 'openid',
    allowInsecureLoopback: true,
    ...(grants === undefined ? {} : { grants }),
  })
  await auth.ready()
  return { login: auth.login(), callback: auth.callback(), client: auth }
}
