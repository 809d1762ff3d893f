/**
 * A bank's tiny payment consent API: `POST /consents` with a JSON body `{ amount, currency,
 * creditorName }`, called by the client with a client credentials access token (RFC 6749 §4.4) of
 * scope `payments` for this API. It answers `201 { consentId, status }`; the client then sends
 * `{ type: 'payment_initiation', consentId, … }` in `authorization_details` (RFC 9396) for the
 * user to authorize. The client may name its user with an opaque `userReference`.
 *
 * The store is in memory and bounded without evicting anyone: a consent not authorized within
 * {@link CONSENT_LIFETIME_MS} expires; each client may hold {@link MAX_PER_CLIENT} pending consents
 * and each of its users {@link MAX_PER_USER}; past either bound the API answers 429, so a client
 * (or a request forged through one) can fill only its own share, never drop another's consents.
 *
 * The token is looked up in the provider's own store; a DPoP-bound token (RFC 9449) needs the
 * `DPoP` scheme and a proof signed by the bound key, for this request and this token (§7.1).
 */
import { createHash, randomUUID } from 'node:crypto'
import express, { type Request, type Response, type Router } from 'express'
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify } from 'jose'
import type ProviderType from 'oidc-provider'

/** The resource indicator of the bank's payment API, and its scopes. */
export const PAYMENT_API = 'urn:example-bank:payments'
export const PAYMENT_SCOPE = 'payments'

export interface PaymentConsent {
  readonly consentId: string
  readonly clientId: string
  readonly amount: string
  readonly currency: string
  readonly creditorName: string
  /** The client's opaque reference of its user, when it gave one. */
  readonly userReference?: string
  /** When it expires unless authorized (milliseconds since the epoch). */
  readonly expiresAt: number
}

export type ConsentStore = Map<string, PaymentConsent>

/** How long a consent waits for the user's authorization. */
export const CONSENT_LIFETIME_MS = 15 * 60_000
/** Pending consents per client. */
export const MAX_PER_CLIENT = 1000
/** Pending consents per user of a client (its `userReference`). */
export const MAX_PER_USER = 5

/** The consent `id` if it exists and has not expired. */
export function liveConsent(consents: ConsentStore, id: string): PaymentConsent | undefined {
  const consent = consents.get(id)
  return consent !== undefined && consent.expiresAt > Date.now() ? consent : undefined
}

/** Drops expired consents; then whether `clientId` (and its user) may create another. */
function withinBounds(
  consents: ConsentStore,
  clientId: string,
  userReference: string | undefined,
): boolean {
  const now = Date.now()
  let ofClient = 0
  let ofUser = 0
  for (const [id, consent] of consents) {
    if (consent.expiresAt <= now) {
      consents.delete(id)
      continue
    }
    if (consent.clientId !== clientId) continue
    ofClient += 1
    if (userReference !== undefined && consent.userReference === userReference) ofUser += 1
  }
  return ofClient < MAX_PER_CLIENT && ofUser < MAX_PER_USER
}

/** How long a DPoP proof is accepted after its `iat`, in seconds (and as much clock skew). */
const PROOF_WINDOW = 60

function unauthorized(res: Response, scheme: 'Bearer' | 'DPoP', description: string): void {
  res
    .status(401)
    .set('WWW-Authenticate', `${scheme} error="invalid_token", error_description="${description}"`)
    .json({ error: 'invalid_token', error_description: description })
}

function isAudience(aud: string | readonly string[] | undefined): boolean {
  return aud === PAYMENT_API || (Array.isArray(aud) && aud.includes(PAYMENT_API))
}

/** Checks the DPoP proof of a request made with `token`; a reason on failure. */
async function dpopProblem(
  req: Request,
  htu: string,
  token: string,
  jkt: string,
  seen: Map<string, number>,
): Promise<string | undefined> {
  const proof = req.get('dpop')
  if (proof === undefined) return 'a DPoP proof is required'
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'PS256', 'EdDSA'],
    })
    const now = Math.floor(Date.now() / 1000)
    if (payload.htm !== req.method) return 'the proof is for another method'
    if (payload.htu !== htu) return 'the proof is for another URL'
    if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > PROOF_WINDOW) {
      return 'the proof is too old'
    }
    const ath = createHash('sha256').update(token).digest('base64url')
    if (payload.ath !== ath) return 'the proof is for another token'
    if (protectedHeader.jwk === undefined) return 'the proof has no key'
    if ((await calculateJwkThumbprint(protectedHeader.jwk)) !== jkt) {
      return 'the proof is signed by another key than the token is bound to'
    }
    if (typeof payload.jti !== 'string' || seen.has(payload.jti)) return 'the proof was replayed'
    for (const [jti, at] of seen) if (at < now - 2 * PROOF_WINDOW) seen.delete(jti)
    seen.set(payload.jti, now)
    return undefined
  } catch {
    return 'the DPoP proof is invalid'
  }
}

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const value = (body as Record<string, unknown>)[name]
  return typeof value === 'string' && value.length > 0 && value.length <= 100 ? value : undefined
}

/** The consent API, mounted at `/consents` on the bank's server. */
export function consentApi(options: {
  readonly provider: ProviderType
  readonly issuer: string
  readonly consents: ConsentStore
}): Router {
  const { provider, consents } = options
  const htu = `${options.issuer}/consents`
  const seenProofs = new Map<string, number>()
  const router = express.Router()
  router.post('/', express.json({ limit: '4kb' }), async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store')
    const interactionId = req.get('x-fapi-interaction-id')
    if (interactionId !== undefined) res.set('x-fapi-interaction-id', interactionId)
    const [scheme, value] = (req.get('authorization') ?? '').split(' ')
    const token = value === undefined || value === '' ? undefined : value
    if (token === undefined || (scheme !== 'Bearer' && scheme !== 'DPoP')) {
      unauthorized(res, 'DPoP', 'an access token is required')
      return
    }
    const found = await provider.ClientCredentials.find(token)
    if (found === undefined || found.isExpired) {
      unauthorized(res, scheme, 'unknown or expired client credentials token')
      return
    }
    if (!isAudience(found.aud) || !(found.scope ?? '').split(' ').includes(PAYMENT_SCOPE)) {
      res.status(403).json({ error: 'insufficient_scope', scope: PAYMENT_SCOPE })
      return
    }
    if (found['x5t#S256'] !== undefined) {
      unauthorized(res, 'Bearer', 'certificate-bound tokens are not accepted here')
      return
    }
    if (found.jkt !== undefined) {
      const problem =
        scheme === 'DPoP'
          ? await dpopProblem(req, htu, token, found.jkt, seenProofs)
          : 'the token is DPoP-bound'
      if (problem !== undefined) {
        unauthorized(res, 'DPoP', problem)
        return
      }
    }
    const amount = field(req.body, 'amount')
    const currency = field(req.body, 'currency')
    const creditorName = field(req.body, 'creditorName')
    if (amount === undefined || !/^\d{1,9}\.\d{2}$/.test(amount) || currency === undefined) {
      res.status(400).json({ error: 'invalid_request', error_description: 'amount and currency' })
      return
    }
    const userReference = field(req.body, 'userReference')
    if (!withinBounds(consents, found.clientId, userReference)) {
      res.status(429).json({
        error: 'too_many_consents',
        error_description: 'too many consents await authorization for this client or user',
      })
      return
    }
    const consent: PaymentConsent = {
      consentId: `pc-${randomUUID()}`,
      clientId: found.clientId,
      amount,
      currency,
      creditorName: creditorName ?? 'the payee',
      ...(userReference === undefined ? {} : { userReference }),
      expiresAt: Date.now() + CONSENT_LIFETIME_MS,
    }
    consents.set(consent.consentId, consent)
    res.status(201).json({ ...consent, status: 'AwaitingAuthorisation' })
  })
  return router
}
