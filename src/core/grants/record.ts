/**
 * A grant and its stored record: the record's readable fields (what a store indexes and
 * compares) and its body (claims, tokens, DPoP key, granted `authorization_details`), JSON or,
 * with `sessionSecrets`, a JWE whose protected header binds the readable fields, so that a record
 * edited in the store (another `sub`, another owner) does not open, and an unsealed record is
 * refused when sealing is on.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { deepFreeze } from '../../config/defaults.js'
import type { SessionSecrets } from '../../config/index.js'
import type { GrantRecord } from '../../config/grants.js'
import { isDpopKey, type DpopKey } from '../jwt/dpop.js'
import { seal, unseal } from '../jwt/seal.js'
import type { AuthorizationDetail } from '../server/authorization-details.js'

/** A grant's tokens, as kept. */
export interface GrantTokens {
  readonly accessToken: string
  /** `DPoP` for DPoP-bound tokens, else `Bearer` (also when certificate-bound). */
  readonly tokenType: string
  readonly idToken: string
  readonly refreshToken?: string
  /** Milliseconds since the epoch. */
  readonly expiresAt?: number
  /** Milliseconds since the epoch: the refresh token's end, when the server stated it. */
  readonly refreshExpiresAt?: number
  readonly scope: string
}

/** What every grant has, active or ended. */
interface GrantFields {
  readonly id: string
  readonly issuer: string
  readonly clientId: string
  readonly sub: string
  readonly sid?: string
  readonly owner?: string
  readonly generation: number
  /** Milliseconds since the epoch: when the login finished. */
  readonly createdAt: number
  /** Milliseconds since the epoch: the last refresh, or the end. */
  readonly updatedAt: number
  /** Milliseconds since the epoch: when the store may forget it. */
  readonly expiresAt: number
}

/** A usable grant: one completed login (or authorized consent) at one server. */
export interface ActiveGrant extends GrantFields {
  readonly status: 'active'
  /** The ID token claims (trimmed by `beforeSession` when it said so). */
  readonly claims: Readonly<Record<string, unknown>>
  readonly tokens: GrantTokens
  /** The grant's DPoP key (RFC 9449) when its tokens are DPoP-bound. */
  readonly dpopKey?: DpopKey
  /** What the server granted (RFC 9396 §7). */
  readonly authorizationDetails?: readonly AuthorizationDetail[]
}

/** A grant that ended (logout, unlink, back-channel logout): nothing usable is kept. */
export interface EndedGrant extends GrantFields {
  readonly status: 'ended'
}

/** One completed login at one server, kept server-side. */
export type Grant = ActiveGrant | EndedGrant

/** The body of an active grant's record. */
interface GrantBody {
  readonly claims: Readonly<Record<string, unknown>>
  readonly tokens: GrantTokens
  readonly dpopKey?: DpopKey
  readonly authorizationDetails?: readonly AuthorizationDetail[]
}

/** What the seal binds: every readable field that says whose grant this is. */
function bindingOf(record: GrantFields): string {
  const bound = [
    record.id,
    record.issuer,
    record.clientId,
    record.sub,
    record.sid ?? null,
    record.owner ?? null,
    record.generation,
    record.createdAt,
  ]
  return `grant:${createHash('sha256').update(JSON.stringify(bound)).digest('base64url')}`
}

/** The record of an active grant, its body sealed when `secrets` are set. */
export async function recordOf(
  grant: ActiveGrant,
  secrets: SessionSecrets | undefined,
): Promise<GrantRecord> {
  const body: GrantBody = {
    claims: grant.claims,
    tokens: grant.tokens,
    ...(grant.dpopKey === undefined ? {} : { dpopKey: grant.dpopKey }),
    ...(grant.authorizationDetails === undefined
      ? {}
      : { authorizationDetails: grant.authorizationDetails }),
  }
  return {
    ...fieldsOf(grant),
    status: 'active',
    body: secrets === undefined ? JSON.stringify(body) : seal(secrets, body, bindingOf(grant)),
  }
}

function fieldsOf(grant: GrantFields): GrantFields {
  return {
    id: grant.id,
    issuer: grant.issuer,
    clientId: grant.clientId,
    sub: grant.sub,
    ...(grant.sid === undefined ? {} : { sid: grant.sid }),
    ...(grant.owner === undefined ? {} : { owner: grant.owner }),
    generation: grant.generation,
    createdAt: grant.createdAt,
    updatedAt: grant.updatedAt,
    expiresAt: grant.expiresAt,
  }
}

/**
 * Records that cannot change: frozen copies holding data members only, made by
 * {@link unchangingRecord} for the in-memory store.
 */
const unchanging = new WeakSet<GrantRecord>()

/**
 * A frozen copy of `record` that {@link grantOf} may open once and remember: what the in-memory
 * store keeps, so that an authenticated request there neither parses nor unseals the body again.
 */
export function unchangingRecord(record: GrantRecord): GrantRecord {
  const copy = Object.freeze({ ...record })
  unchanging.add(copy)
  return copy
}

/** What unchanging records opened to, with which secrets. */
const opened = new WeakMap<
  GrantRecord,
  { readonly secrets: SessionSecrets | undefined; readonly grant: Grant | undefined }
>()

/**
 * The grant of a record, or `undefined` when the record is not a grant's, or its body does not
 * open (sealed with a dropped key, edited, or unsealed while sealing is on). The grant is frozen,
 * nested objects too: it is what the store holds, not a copy to edit.
 */
export async function grantOf(
  record: unknown,
  secrets: SessionSecrets | undefined,
): Promise<Grant | undefined> {
  if (typeof record !== 'object' || record === null) return undefined
  const known = opened.get(record as GrantRecord)
  if (known !== undefined && known.secrets === secrets) return known.grant
  const grant = await openRecord(record, secrets)
  if (unchanging.has(record as GrantRecord)) opened.set(record as GrantRecord, { secrets, grant })
  return grant
}

async function openRecord(
  record: object,
  secrets: SessionSecrets | undefined,
): Promise<Grant | undefined> {
  if (!isGrantRecord(record)) return undefined
  const fields = fieldsOf(record)
  if (record.status === 'ended') return Object.freeze({ ...fields, status: 'ended' })
  let body: unknown
  if (secrets === undefined) {
    try {
      body = JSON.parse(record.body) as unknown
    } catch {
      return undefined
    }
  } else {
    // Sealing on: only a body sealed for exactly these readable fields opens.
    body = unseal(secrets, record.body, bindingOf(record))
  }
  if (!isGrantBody(body)) return undefined
  return deepFreeze<ActiveGrant>({
    ...fields,
    status: 'active',
    claims: body.claims,
    tokens: body.tokens,
    ...(body.dpopKey === undefined ? {} : { dpopKey: body.dpopKey }),
    ...(body.authorizationDetails === undefined
      ? {}
      : { authorizationDetails: body.authorizationDetails }),
  })
}

function isGrantBody(value: unknown): value is GrantBody {
  if (typeof value !== 'object' || value === null) return false
  const { claims, tokens, dpopKey } = value as Record<string, unknown>
  if (typeof claims !== 'object' || claims === null) return false
  if (typeof tokens !== 'object' || tokens === null) return false
  const { accessToken, tokenType, idToken } = tokens as Record<string, unknown>
  return (
    typeof accessToken === 'string' &&
    typeof tokenType === 'string' &&
    typeof idToken === 'string' &&
    (dpopKey === undefined || isDpopKey(dpopKey))
  )
}

/** Narrows a stored value to a grant record (its readable fields well-typed). */
export function isGrantRecord(value: unknown): value is GrantRecord {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  return (
    typeof r.id === 'string' &&
    typeof r.issuer === 'string' &&
    typeof r.clientId === 'string' &&
    typeof r.sub === 'string' &&
    (r.sid === undefined || typeof r.sid === 'string') &&
    (r.owner === undefined || typeof r.owner === 'string') &&
    (r.status === 'active' || r.status === 'ended') &&
    typeof r.generation === 'number' &&
    typeof r.createdAt === 'number' &&
    typeof r.updatedAt === 'number' &&
    typeof r.expiresAt === 'number' &&
    typeof r.body === 'string'
  )
}
