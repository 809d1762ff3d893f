/**
 * The coordination store's primitives, in memory and on a real redis-server: a key is claimed by
 * exactly one of many parallel callers, a lock is released only by its owner (Lua
 * compare-and-delete), values expire, and a stopped Redis gives ERR_COORDINATION_UNAVAILABLE at
 * once, then works again when it is back.
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, test } from 'node:test'
import { createClient } from 'redis'
import { SingleFlight } from '../src/core/coordination/single-flight.js'
import {
  CoordinationError,
  memoryCoordination,
  redisCoordination,
  type Coordination,
} from '../src/index.js'
import { redisMissing, startRedis } from './support/redis.js'

const missing = redisMissing()

async function primitives(stores: readonly Coordination[]): Promise<void> {
  const first = stores[0]
  assert.ok(first)
  const second = stores[1] ?? first
  const claims = await Promise.all(
    Array.from({ length: 200 }, (_, index) =>
      (index % 2 === 0 ? first : second).claim('state:x', 60_000),
    ),
  )
  assert.equal(claims.filter(Boolean).length, 1, 'exactly one claim wins')
  assert.equal(await first.claim('lock:y', 60_000, 'owner-1'), true)
  await second.release('lock:y', 'owner-2')
  assert.equal(await first.get('lock:y'), 'owner-1', 'another owner cannot release it')
  await second.release('lock:y', 'owner-1')
  assert.equal(await first.get('lock:y'), undefined, 'its owner can')
  await first.set('value:z', 'v', 50)
  assert.equal(await second.get('value:z'), 'v')
}

test('coordination in memory: one claim wins, locks are released by their owner', async () => {
  let now = 0
  const store = memoryCoordination({ now: () => now })
  await primitives([store])
  now += 100
  assert.equal(await store.get('value:z'), undefined, 'expired')
})

test('single flight: parallel callers share one run and its result', async () => {
  const shared = memoryCoordination()
  const instances = [new SingleFlight(shared), new SingleFlight(shared)]
  let runs = 0
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, index) =>
      instances[index % 2]!.run('k', { lockMs: 5000, resultMs: 5000, waitMs: 5000 }, async () => {
        runs += 1
        await sleep(30)
        return 'result'
      }),
    ),
  )
  assert.equal(runs, 1)
  assert.ok(results.every((result) => result === 'result'))
})

describe('coordination on Redis', { skip: missing }, () => {
  test('SET NX PX and compare-and-delete across two clients; an outage is ERR_COORDINATION_UNAVAILABLE, then recovery', async (t) => {
    let redis = await startRedis()
    t.after(() => redis.close())
    const clients = [createClient({ url: redis.url }), createClient({ url: redis.url })]
    for (const client of clients) {
      client.on('error', () => undefined)
      await client.connect()
    }
    t.after(() => clients.forEach((client) => client.destroy()))
    const stores = clients.map((client) => redisCoordination(client, { prefix: 'test:' }))
    await primitives(stores)

    await redis.close()
    const outage = await stores[0]!.claim('state:down', 1000).then(
      () => undefined,
      (error: unknown) => error,
    )
    assert.ok(outage instanceof CoordinationError)
    assert.equal(outage.code, 'ERR_COORDINATION_UNAVAILABLE')
    assert.equal(outage.status, 503)

    redis = await startRedis(redis.port)
    let back = false
    for (let round = 0; round < 100 && !back; round += 1) {
      back = await stores[0]!.claim('state:up', 1000).catch(() => false)
      if (!back) await sleep(100)
    }
    assert.ok(back, 'claims work again once Redis is back')
  })
})
