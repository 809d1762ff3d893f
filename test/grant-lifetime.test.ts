/**
 * A grant's expiry comes from the server when it says (`refresh_expires_in`), else from
 * `grantLifetime`; a refresh sets it again by the same rule; the Redis store's keys (the record
 * and its lookups) expire with the grant. Against hostile servers as banks and, for Redis, a real
 * redis-server.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createClient } from 'redis'
import { redisGrantStore, type RedisCommandClient } from '../src/index.js'
import type { Reply } from './support/hostile-server.js'
import { redisMissing, startRedis, type StartedRedis } from './support/redis.js'
import { linkBank, startTwoBanks, type TwoBanks } from './support/two-banks.js'

const DAY = 86_400_000

/** Adds `refresh_expires_in` (seconds) to the bank's token responses; `undefined` stops it. */
function stateRefreshLifetime(app: TwoBanks, seconds: number | undefined): void {
  app.banks['bank-a'].token = (reply: Reply) =>
    seconds === undefined || reply.body?.refresh_token === undefined
      ? reply
      : { ...reply, body: { ...reply.body, refresh_expires_in: seconds } }
}

/** The grant of bank A in the app's browser session, as the store holds it. */
async function grantA(app: TwoBanks) {
  const bank = app.clients.client('bank-a')
  const [id] = await bank.findGrants({ issuer: app.banks['bank-a'].issuer, sub: 'alice' })
  assert.ok(id !== undefined, 'the grant is found')
  const grant = await bank.grant(id).get()
  assert.ok(grant?.status === 'active')
  return { id, grant, handle: bank.grant(id) }
}

/** Asserts `actual` lies in [from + ms, to + ms]: an expiry set `ms` after a moment in the range. */
function expiresAfter(actual: number, from: number, to: number, ms: number, what: string): void {
  assert.ok(actual >= from + ms && actual <= to + ms, `${what}: ${actual - from} ms, want ${ms}`)
}

describe("grantLifetime: a grant's expiry is the server's when it says, else the option", () => {
  test('grantLifetime, the server says: a grant expires with its refresh token (refresh_expires_in), not after the default', async (t) => {
    const app = await startTwoBanks(t, { client: { grantLifetime: 3600 } })
    stateRefreshLifetime(app, 200 * 86_400)
    const from = Date.now()
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    const { grant } = await grantA(app)
    expiresAfter(grant.expiresAt, from, Date.now(), 200 * DAY, 'stated at login')
  })

  test('grantLifetime, the server says nothing: a grant expires after grantLifetime; refresh_expires_in 0 counts as nothing', async (t) => {
    const app = await startTwoBanks(t, { client: { grantLifetime: 3600 } })
    stateRefreshLifetime(app, 0)
    const from = Date.now()
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    const { grant } = await grantA(app)
    expiresAfter(grant.expiresAt, from, Date.now(), 3_600_000, 'the option')
  })

  test('grantLifetime, a refresh sets the expiry by the same rule: the new refresh_expires_in, else the later of the old and the option', async (t) => {
    const app = await startTwoBanks(t, { client: { grantLifetime: 3600 } })
    stateRefreshLifetime(app, 200 * 86_400)
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    const { handle } = await grantA(app)
    stateRefreshLifetime(app, 7200)
    let from = Date.now()
    const shorter = await handle.refresh()
    expiresAfter(shorter.expiresAt, from, Date.now(), 7_200_000, 'the new stated lifetime')
    // A rotated refresh token with no stated lifetime: the later of the old expiry and the option.
    stateRefreshLifetime(app, undefined)
    const kept = await handle.refresh()
    assert.equal(kept.expiresAt, shorter.expiresAt, 'two hours beat the one-hour option')
    stateRefreshLifetime(app, 60)
    from = Date.now()
    const short = await handle.refresh()
    expiresAfter(short.expiresAt, from, Date.now(), 60_000, 'the server may shorten it')
    stateRefreshLifetime(app, undefined)
    from = Date.now()
    const extended = await handle.refresh()
    expiresAfter(extended.expiresAt, from, Date.now(), 3_600_000, 'the option')
  })
})

const missing = redisMissing()
if (missing !== false) console.log(`# skipping the Redis grant expiry test: ${missing}`)

describe('grantLifetime on Redis: the keys expire with the grant', { skip: missing }, () => {
  let redis: StartedRedis | undefined
  after(async () => {
    await redis?.close()
  })

  test("grantLifetime, Redis store: the record's and its lookups' expiry follow the grant's, also when a refresh extends it", async (t) => {
    redis = await startRedis()
    const connected = createClient({ url: redis.url })
    connected.on('error', () => undefined)
    await connected.connect()
    t.after(() => connected.quit())
    const store = redisGrantStore(connected as unknown as RedisCommandClient, { prefix: 'life:' })
    const app = await startTwoBanks(t, { client: { grants: store, grantLifetime: 3600 } })
    stateRefreshLifetime(app, 600)
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    const { id, handle } = await grantA(app)
    const pttl = async (key: string) => Number(await connected.sendCommand(['PTTL', key]))
    const lookups = async () => {
      const keys = (await connected.sendCommand(['KEYS', 'life:grants:*'])) as string[]
      assert.ok(keys.length >= 2, 'the (issuer, sub) and owner lookups')
      return Promise.all(keys.map(pttl))
    }
    const atLogin = await pttl(`life:grant:${id}`)
    assert.ok(
      atLogin > 0 && atLogin <= 600_000,
      `record PTTL ${atLogin} follows refresh_expires_in`,
    )
    stateRefreshLifetime(app, 30 * 86_400)
    await handle.refresh()
    const refreshed = await pttl(`life:grant:${id}`)
    assert.ok(refreshed > 29 * DAY && refreshed <= 30 * DAY, `record PTTL ${refreshed}`)
    for (const ttl of await lookups()) {
      assert.ok(ttl >= refreshed - 60_000, `a lookup (PTTL ${ttl}) lives as long as its grant`)
    }
    assert.equal(
      (
        await app.clients
          .client('bank-a')
          .findGrants({ issuer: app.banks['bank-a'].issuer, sub: 'alice' })
      ).length,
      1,
    )
  })
})
