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

/**
 * The default in-memory grant store behind a handle the bench can empty between measurements
 * (`clear`), as it empties the session stores: otherwise the grants of every callback measured
 * so far stay on the heap, and each collection of express-fapi's process gets dearer as a run
 * goes on while the floor's (whose logins live in the emptied session store) does not.
 */
function clearableGrantStore(fapi: typeof Fapi): { store: Fapi.GrantStore; clear(): void } {
  let inner = fapi.memoryGrantStore()
  const store: Fapi.GrantStore = {
    get: (id) => inner.get(id),
    create: (record) => inner.create(record),
    update: (record, generation) => inner.update(record, generation),
    end: (id, endedAt, keepUntil) => inner.end(id, endedAt, keepUntil),
    find: (query) => inner.find(query),
  }
  return { store, clear: () => (inner = fapi.memoryGrantStore()) }
}

/** express-fapi from `ctx.fapiSrc` (the repo's `src`, or a patched copy to measure a change). */
export async function fapiRoutes(
  ctx: RouteContext,
  { signer = false, grants }: { signer?: boolean; grants?: Fapi.GrantStore } = {},
): Promise<{
  login: FapiMiddleware
  callback: FapiMiddleware
  client: Fapi.FapiClient
  /** Empties the grant store (a no-op for a store given in `grants`). */
  clearGrants: () => void
}> {
  const url = pathToFileURL(join(ctx.fapiSrc, 'index.ts')).href
  const fapi = (await import(url)) as typeof Fapi
  const clearable = grants === undefined ? clearableGrantStore(fapi) : undefined
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
    grants: grants ?? clearable!.store,
  })
  await auth.ready()
  return {
    login: auth.login(),
    callback: auth.callback(),
    client: auth,
    clearGrants: () => clearable?.clear(),
  }
}
