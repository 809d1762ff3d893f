/**
 * Reading a grant: the grant is frozen; a record of the in-memory store (which never changes in
 * place) is opened once and remembered, with the secrets it was opened with; a record from any
 * other store is opened on every read, so a store that edits its records in place is always seen.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { resolveSessionSecrets } from '../src/config/coordination.js'
import type { GrantRecord } from '../src/config/grants.js'
import { grantOf, recordOf, type ActiveGrant } from '../src/core/grants/record.js'
import { memoryGrantStore } from '../src/index.js'

function activeGrant(id: string, generation = 0): ActiveGrant {
  return {
    id,
    issuer: 'https://bank.example',
    clientId: 'client',
    sub: 'alice',
    status: 'active',
    generation,
    createdAt: 1_000,
    updatedAt: 1_000 + generation,
    expiresAt: Date.now() + 3_600_000,
    claims: { sub: 'alice', address: { country: 'SE' } },
    tokens: {
      accessToken: `at-${generation}`,
      tokenType: 'Bearer',
      idToken: 'id.token.jws',
      scope: 'openid',
    },
  }
}

const secrets = (kid: string) => resolveSessionSecrets({ keys: [{ kid, key: randomBytes(32) }] })

describe('grant reads', () => {
  test('grant reads: a grant read from the in-memory store is frozen, nested objects too', async () => {
    const store = memoryGrantStore()
    await store.create(await recordOf(activeGrant('g1'), undefined))
    const grant = await grantOf(await store.get('g1'), undefined)
    assert.equal(grant?.status, 'active')
    if (grant?.status !== 'active') return
    assert.ok(Object.isFrozen(grant))
    assert.ok(Object.isFrozen(grant.claims))
    assert.ok(Object.isFrozen(grant.claims.address))
    assert.ok(Object.isFrozen(grant.tokens))
    assert.throws(() => {
      ;(grant.tokens as { accessToken: string }).accessToken = 'edited'
    }, TypeError)
  })

  test('grant reads: an in-memory record is opened once, and a compare-and-set update is read anew', async () => {
    const store = memoryGrantStore()
    const sealing = secrets('k1')
    await store.create(await recordOf(activeGrant('g2'), sealing))
    const first = await grantOf(await store.get('g2'), sealing)
    const second = await grantOf(await store.get('g2'), sealing)
    assert.ok(first !== undefined)
    assert.equal(second, first, 'the same record opens to the same grant, without unsealing again')
    assert.ok(await store.update(await recordOf(activeGrant('g2', 1), sealing), 0))
    const updated = await grantOf(await store.get('g2'), sealing)
    assert.equal(updated?.status === 'active' && updated.tokens.accessToken, 'at-1')
    assert.equal(updated?.generation, 1)
    await store.end('g2', 5_000, Date.now() + 60_000)
    assert.equal((await grantOf(await store.get('g2'), sealing))?.status, 'ended')
  })

  test('grant reads: a remembered record read with other secrets is opened again, and does not open', async () => {
    const store = memoryGrantStore()
    const sealing = secrets('k1')
    await store.create(await recordOf(activeGrant('g3'), sealing))
    const record = await store.get('g3')
    assert.ok((await grantOf(record, sealing)) !== undefined)
    assert.equal(await grantOf(record, secrets('k2')), undefined)
    assert.equal(await grantOf(record, undefined), undefined)
  })

  test('grant reads: a record another store changes in place is opened on every read, the change seen', async () => {
    const record: { -readonly [K in keyof GrantRecord]: GrantRecord[K] } = {
      ...(await recordOf(activeGrant('g4'), undefined)),
    }
    const first = await grantOf(record, undefined)
    assert.equal(first?.status === 'active' && first.tokens.accessToken, 'at-0')
    record.body = JSON.stringify({
      ...JSON.parse(record.body),
      tokens: activeGrant('g4', 7).tokens,
    })
    const second = await grantOf(record, undefined)
    assert.equal(second?.status === 'active' && second.tokens.accessToken, 'at-7')
    record.status = 'ended'
    assert.equal((await grantOf(record, undefined))?.status, 'ended')
  })
})
