/**
 * Mix-up defence for an app that talks to several authorization servers (RFC 9700 §4.4, RFC 6819
 * §4.4.1.1): every transaction records its server, and a response for a transaction of server A
 * completes only as A's. These helpers read what a response claims before any verification (its
 * `state`, to find the transaction's server, and its `iss`), and tell whether a JWT is signed by
 * one server's keys, so that a response of another server (its `iss`, or its keys) is rejected
 * with its own code before any token request.
 *
 * @module
 */
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose'
import type { JwsAlgorithm } from '../../config/index.js'
import { readDelivery, type CallbackRequest } from './delivery.js'
import type { ClientContext } from './context.js'

/** What a response says of itself, unverified: only for routing, never for a decision to accept. */
export interface ClaimedResponse {
  readonly state: string | undefined
  readonly iss: string | undefined
  /** The JARM JWT, when the response is one (and not encrypted). */
  readonly jwt: string | undefined
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** Reads the callback request's `state` and `iss` without trusting them. */
export async function claimedResponse(
  context: ClientContext,
  request: CallbackRequest,
): Promise<ClaimedResponse> {
  const none = { state: undefined, iss: undefined, jwt: undefined }
  let delivery: Awaited<ReturnType<typeof readDelivery>>
  try {
    delivery = await readDelivery(request, context.config)
  } catch {
    return none
  }
  if (delivery.kind === 'plain') {
    return {
      state: delivery.params.get('state') ?? undefined,
      iss: delivery.params.get('iss') ?? undefined,
      jwt: undefined,
    }
  }
  if (delivery.kind !== 'response' || delivery.response.split('.').length !== 3) return none
  try {
    const payload = decodeJwt(delivery.response)
    return { state: text(payload.state), iss: text(payload.iss), jwt: delivery.response }
  } catch {
    return none
  }
}

function isAllowed(alg: unknown, allowed: readonly JwsAlgorithm[]): alg is JwsAlgorithm {
  return typeof alg === 'string' && (allowed as readonly string[]).includes(alg)
}

/** Whether `jwt`'s signature verifies with a key of this client's server (nothing else checked). */
export async function signedByServer(context: ClientContext, jwt: string): Promise<boolean> {
  try {
    const { alg, kid } = decodeProtectedHeader(jwt)
    if (!isAllowed(alg, context.config.allowedAlgorithms)) return false
    const key = await context.jwks.select({ alg, kid })
    if (key === 'not-found' || key === 'ambiguous') return false
    await compactVerify(jwt, key, { algorithms: [alg] })
    return true
  } catch {
    return false
  }
}
