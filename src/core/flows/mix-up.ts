/**
 * Mix-up defence for an app that talks to several authorization servers (RFC 9700 §4.4, RFC 6819
 * §4.4.1.1), in the core so that every callback has it, whatever its path or adapter: a client
 * knows the other servers of its set (their names, issuers and keys, through {@link ServerSet});
 * a response that fails this server's verification because it is another configured server's
 * (its `iss`, or a signature by its keys) is `ERR_MIX_UP_DETECTED`, before the pending login is
 * taken and before any token request. A single client has no other server, and a response that
 * passes verification is never looked at twice.
 *
 * The functions below read what a response claims before any verification (its `state` and `iss`, for a
 * shared callback path to find the transaction's server), never to accept anything.
 *
 * @module
 */
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose'
import type { JwsAlgorithm } from '../../config/index.js'
import { AuthorizationResponseError, isFapiError } from '../../errors.js'
import { decryptJwe, isCompactJwe } from '../jwt/encryption.js'
import { readDelivery, type CallbackRequest } from './delivery.js'
import type { ClientContext } from './context.js'

/** Another server of the app's set, as one server's callback sees it. */
export interface OtherServer {
  /** Its name in the set. */
  readonly name: string
  /** Its issuer, exactly as configured. */
  readonly issuer: string
  /** Whether a JWT's signature verifies with a key of that server (nothing else checked). */
  signedByServer(jwt: string): Promise<boolean>
}

/**
 * The set of servers a client belongs to (an app that links several banks): its name there, and
 * a function that lists the other servers as known when a response arrives (all of a static
 * set; for banks resolved on demand, those created so far). A single client has none.
 *
 * @example
 * ```ts
 * const cores = new Map<string, FapiCore>()
 * const set = (name: string): ServerSet => ({
 *   name,
 *   otherServers: () => [...cores].filter(([other]) => other !== name).map(([other, core]) => ({ name: other, issuer: core.issuer, signedByServer: core.signedByServer })),
 * })
 * cores.set('bank-a', createFapiCore(optionsA, set('bank-a')))
 * ```
 * @see RFC 9700 §4.4
 */
export interface ServerSet {
  /** This server's name in the set (the callback's result names it). */
  readonly name: string
  /** The other servers of the set, as known now. */
  otherServers(): readonly OtherServer[]
}

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

/** The error of a response of `other` for a login at this server. */
export function mixUpDetected(
  own: string,
  other: OtherServer,
  by: 'iss' | 'keys',
): AuthorizationResponseError {
  return new AuthorizationResponseError(
    'ERR_MIX_UP_DETECTED',
    by === 'iss'
      ? `the response for a login at "${own}" carries the iss of "${other.name}" (RFC 9700 §4.4)`
      : `the response for a login at "${own}" is signed by the keys of "${other.name}" (RFC 9700 §4.4)`,
  )
}

/** The other server configured with issuer `iss` (never this one), if any. */
export function otherServerWithIssuer(
  context: ClientContext,
  set: ServerSet | undefined,
  iss: string | null | undefined,
): OtherServer | undefined {
  if (set === undefined || typeof iss !== 'string' || iss === context.config.issuer) {
    return undefined
  }
  return set.otherServers().find((other) => other.issuer === iss)
}

/** The JARM failures that another server's response ends in when this server verifies it. */
const FOREIGN: ReadonlySet<string> = new Set([
  'ERR_JARM_ISS_MISMATCH',
  'ERR_JARM_KEY_NOT_FOUND',
  'ERR_JARM_SIGNATURE_INVALID',
  'ERR_JARM_ALG_NOT_ALLOWED',
])

/**
 * RFC 9700 §4.4, for a JARM response that failed this server's verification with `failure`:
 * `ERR_MIX_UP_DETECTED` when it carries another configured server's `iss` or verifies with
 * another configured server's keys (an encrypted one is decrypted with the client's keys first);
 * otherwise `failure`, untouched.
 */
export async function mixUpOrFailure(
  context: ClientContext,
  set: ServerSet | undefined,
  response: string,
  failure: unknown,
): Promise<unknown> {
  if (set === undefined || !isFapiError(failure) || !FOREIGN.has(failure.code)) return failure
  const others = set.otherServers()
  if (others.length === 0) return failure
  let jws = response
  try {
    if (isCompactJwe(response)) {
      jws = await decryptJwe(response, {
        kind: 'JARM',
        label: 'JARM response',
        keys: context.config.encryptionKeys,
      })
    }
    const named = otherServerWithIssuer(context, set, text(decodeJwt(jws).iss))
    if (named !== undefined) return mixUpDetected(set.name, named, 'iss')
  } catch {
    return failure
  }
  for (const other of others) {
    if (other.issuer !== context.config.issuer && (await other.signedByServer(jws))) {
      return mixUpDetected(set.name, other, 'keys')
    }
  }
  return failure
}
