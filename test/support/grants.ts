/**
 * Test helpers over a grant store the test gave the client (`grants` option): a grant planted
 * directly (a login without a server, for guard tests), and an unsealed grant's body rewritten
 * (to put an old refresh token back). Never in a real app.
 */
import { randomBytes } from 'node:crypto'
import { memoryGrantStore, type GrantRecord, type GrantStore } from '../../src/index.js'

/** What a planted grant is made of (the body's fields, readable). */
export interface PlantedGrant {
  readonly issuer: string
  readonly clientId: string
  readonly claims?: Record<string, unknown>
  readonly tokens?: Record<string, unknown>
  readonly owner?: string
}

/** Stores an active, unsealed grant; resolves with its id. */
export async function plantGrant(store: GrantStore, grant: PlantedGrant): Promise<string> {
  const now = Date.now()
  const claims = grant.claims ?? { sub: 'carol' }
  const record: GrantRecord = {
    id: randomBytes(32).toString('base64url'),
    issuer: grant.issuer,
    clientId: grant.clientId,
    sub: String(claims.sub),
    ...(grant.owner === undefined ? {} : { owner: grant.owner }),
    status: 'active',
    generation: 0,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + 3_600_000,
    body: JSON.stringify({
      claims,
      tokens: grant.tokens ?? {
        accessToken: 'at',
        tokenType: 'Bearer',
        idToken: 'fake.id.token',
        scope: 'openid',
      },
    }),
  }
  if (!(await store.create(record))) throw new Error('grant id taken')
  return record.id
}

/** Rewrites an unsealed grant's body (compare-and-set, as a refresh would). */
export async function rewriteGrant(
  store: GrantStore,
  id: string,
  rewrite: (body: Record<string, unknown>) => Record<string, unknown>,
): Promise<boolean> {
  const record = await store.get(id)
  if (record === undefined || record.status !== 'active') return false
  const body = rewrite(JSON.parse(record.body) as Record<string, unknown>)
  return store.update(
    { ...record, generation: record.generation + 1, body: JSON.stringify(body) },
    record.generation,
  )
}

/**
 * A real in-memory grant store seen from outside, as an attacker with access to the store's
 * data would: every record written (`dump()`), and the records it holds edited (`edit()`: what
 * `get` answers from then on, as if the stored data had been changed).
 */
export function inspectableGrantStore(inner: GrantStore = memoryGrantStore()): {
  readonly store: GrantStore
  dump(): string
  edit(change: ((record: GrantRecord) => GrantRecord) | undefined): void
} {
  const written: GrantRecord[] = []
  let change: ((record: GrantRecord) => GrantRecord) | undefined
  const store: GrantStore = {
    async get(id) {
      const record = await inner.get(id)
      return record === undefined || change === undefined ? record : change(record)
    },
    async create(record) {
      written.push(record)
      return inner.create(record)
    },
    async update(record, generation) {
      written.push(record)
      return inner.update(record, generation)
    },
    end: (id, endedAt, keepUntil) => inner.end(id, endedAt, keepUntil),
    find: (query) => inner.find(query),
  }
  return {
    store,
    dump: () => JSON.stringify(written),
    edit(next) {
      change = next
    },
  }
}
