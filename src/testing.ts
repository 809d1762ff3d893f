/**
 * `express-fapi/testing`: the contract test suite of a grant store, for an app that brings its own
 * (Postgres, say). It registers `node:test` tests; run it with `node --test`.
 *
 * @example
 * ```ts
 * import { grantStoreContract } from 'express-fapi/testing'
 * grantStoreContract('my Postgres grant store', async () => postgresGrantStore(await freshPool()))
 * ```
 * @module
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, test } from 'node:test'
import type { GrantRecord, GrantStore } from './config/grants.js'

/** A record for the suite: random id, active, generation 0, an hour to live. */
function recordFor(overrides: Partial<GrantRecord> = {}): GrantRecord {
  const now = Date.now()
  return {
    id: randomBytes(16).toString('base64url'),
    issuer: 'https://as.example',
    clientId: 'client',
    sub: `user-${randomBytes(4).toString('hex')}`,
    sid: `sid-${randomBytes(4).toString('hex')}`,
    status: 'active',
    generation: 0,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + 3_600_000,
    body: JSON.stringify({ tokens: { accessToken: 'at-0' } }),
    ...overrides,
  }
}

/**
 * Registers the contract of {@link GrantStore} as `node:test` tests under `name`: what a store
 * must do for express-fapi's logout, refresh and back-channel logout to hold (atomic
 * compare-and-set on the generation, one winner of concurrent ends, lookups, expiry).
 * `makeStore` is called once per test.
 */
export function grantStoreContract(
  name: string,
  makeStore: () => GrantStore | Promise<GrantStore>,
): void {
  describe(`grant store contract: ${name}`, () => {
    test('create, then get returns the record as created; an id is created once', async () => {
      const store = await makeStore()
      const record = recordFor({ owner: 'owner-1' })
      assert.equal(await store.create(record), true)
      assert.deepEqual(await store.get(record.id), record)
      assert.equal(await store.create({ ...record, sub: 'someone-else' }), false)
      assert.deepEqual(await store.get(record.id), record, 'a second create changes nothing')
      assert.equal(await store.get('no-such-grant'), undefined)
    })

    test('update is a compare-and-set on the generation: one of two concurrent updates wins', async () => {
      const store = await makeStore()
      const record = recordFor()
      await store.create(record)
      const next = (token: string): GrantRecord => ({
        ...record,
        generation: 1,
        updatedAt: record.updatedAt + 1,
        body: JSON.stringify({ tokens: { accessToken: token } }),
      })
      const results = await Promise.all([
        store.update(next('at-a'), 0),
        store.update(next('at-b'), 0),
      ])
      assert.deepEqual(
        results.filter(Boolean).length,
        1,
        'exactly one update of generation 0 succeeds',
      )
      const stored = await store.get(record.id)
      assert.equal(stored?.generation, 1)
      assert.equal(stored?.body, next(results[0] ? 'at-a' : 'at-b').body)
      assert.equal(await store.update(next('at-c'), 0), false, 'a stale generation is refused')
      assert.equal(await store.update({ ...next('at-d'), generation: 2 }, 1), true)
    })

    test('end: active becomes ended (body dropped), once; an ended grant is never updated', async () => {
      const store = await makeStore()
      const record = recordFor()
      await store.create(record)
      const endedAt = Date.now()
      const ends = await Promise.all(
        Array.from({ length: 20 }, () => store.end(record.id, endedAt, endedAt + 60_000)),
      )
      const winners = ends.filter((value) => value !== undefined)
      assert.equal(winners.length, 1, 'one caller of twenty gets the active record')
      assert.deepEqual(winners[0], record, 'the active record, with its body (for revocation)')
      const ended = await store.get(record.id)
      assert.equal(ended?.status, 'ended')
      assert.equal(ended?.body, '')
      assert.equal(ended?.updatedAt, endedAt)
      assert.equal(ended?.sub, record.sub)
      assert.equal(await store.end(record.id, endedAt, endedAt + 60_000), undefined)
      assert.equal(
        await store.update({ ...record, generation: 1 }, 0),
        false,
        'a refresh finishing after the end does not bring the grant back',
      )
      assert.equal((await store.get(record.id))?.status, 'ended')
      assert.equal(await store.end('no-such-grant', endedAt, endedAt + 60_000), undefined)
    })

    test('find by (issuer, sid), (issuer, sub) and owner; another issuer is not matched', async () => {
      const store = await makeStore()
      const owner = `owner-${randomBytes(4).toString('hex')}`
      const a = recordFor({ owner })
      const b = recordFor({ owner, sub: a.sub, sid: 'sid-b' })
      const other = recordFor({ issuer: 'https://other.example', sub: a.sub, sid: a.sid ?? '' })
      for (const record of [a, b, other]) assert.equal(await store.create(record), true)
      assert.deepEqual([...(await store.find({ issuer: a.issuer, sid: a.sid ?? '' }))], [a.id])
      assert.deepEqual(
        [...(await store.find({ issuer: a.issuer, sub: a.sub }))].sort(),
        [a.id, b.id].sort(),
      )
      assert.deepEqual([...(await store.find({ owner }))].sort(), [a.id, b.id].sort())
      assert.deepEqual([...(await store.find({ owner: 'nobody' }))], [])
      await store.end(a.id, Date.now(), Date.now() + 60_000)
      assert.deepEqual(
        [...(await store.find({ issuer: a.issuer, sid: a.sid ?? '' }))],
        [a.id],
        'an ended grant is still found while it is kept',
      )
    })

    test('a record is forgotten after its expiresAt (get and find)', async () => {
      const store = await makeStore()
      const record = recordFor({ expiresAt: Date.now() + 50 })
      await store.create(record)
      // Waiting longer than needed is safe: a slow machine only makes it later.
      await sleep(250)
      assert.equal(await store.get(record.id), undefined)
      assert.deepEqual([...(await store.find({ issuer: record.issuer, sub: record.sub }))], [])
      assert.equal(await store.create(record), true, 'its id may be used again')
    })
  })
}
