/**
 * A logout with the grant store down: the session ends, and the logout fails with
 * `ERR_GRANT_STORE_UNAVAILABLE` (503) naming the servers whose grants stay active, instead of
 * redirecting as if the user's bank access were gone. A real redis-server holds the grants
 * (stopped, or holding every command with CLIENT PAUSE); the sessions live in express-session's
 * memory store, so only the grant store is down.
 */
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import session from 'express-session'
import { createClient } from 'redis'
import { redisGrantStore, type RedisCommandClient } from '../src/index.js'
import { redisMissing, startRedis, type StartedRedis } from './support/redis.js'
import { linkBank, logins, startTwoBanks, type TwoBanks } from './support/two-banks.js'

const missing = redisMissing()
if (missing !== false) console.log(`# skipping the logout with the grant store down: ${missing}`)

interface Setup {
  readonly app: TwoBanks
  readonly redis: StartedRedis
  readonly admin: { sendCommand(args: string[]): Promise<unknown> }
  readonly sessions: session.MemoryStore
  readonly grantIds: readonly string[]
}

/** Two banks linked by one browser, their grants in Redis, the sessions in memory. */
async function linkedOnRedis(t: TestContext): Promise<Setup> {
  const redis = await startRedis()
  t.after(() => redis.close())
  const [connection, admin] = [createClient({ url: redis.url }), createClient({ url: redis.url })]
  for (const each of [connection, admin]) {
    each.on('error', () => undefined)
    await each.connect()
  }
  t.after(() => [connection, admin].forEach((each) => each.destroy()))
  const grants = redisGrantStore(connection as unknown as RedisCommandClient, {
    commandTimeout: 300,
  })
  const sessions = new session.MemoryStore()
  const app = await startTwoBanks(t, { client: { grants }, store: sessions })
  assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
  assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b' })).status, 200)
  assert.deepEqual(await logins(app), { 'bank-a': 'alice', 'bank-b': 'alice-b' })
  const owner = JSON.stringify([app.banks['bank-a'].issuer, 'alice'])
  const grantIds = [
    ...(await app.clients
      .client('bank-a')
      .findGrants({ issuer: app.banks['bank-a'].issuer, sub: 'alice' })),
    ...(await app.clients.client('bank-b').findGrants({ owner })),
  ]
  assert.equal(grantIds.length, 2)
  return { app, redis, admin, sessions, grantIds }
}

/** Every session the memory store holds, as JSON. */
function storedSessions(sessions: session.MemoryStore): Promise<string> {
  return new Promise((resolve, reject) => {
    sessions.all((error, all) => (error ? reject(error as Error) : resolve(JSON.stringify(all))))
  })
}

async function assertIncompleteLogout({ app, sessions, grantIds }: Setup): Promise<void> {
  const answer = await app.browser.request('/auth/logout', {
    method: 'POST',
    headers: { accept: 'application/json' },
  })
  const body = (await answer.json()) as { error?: string; message?: string }
  assert.equal(answer.status, 503, JSON.stringify(body))
  assert.equal(body.error, 'ERR_GRANT_STORE_UNAVAILABLE')
  for (const bank of ['bank-a', 'bank-b'] as const) {
    assert.ok(body.message?.includes(app.banks[bank].issuer), `the message names ${bank}`)
  }
  assert.match(body.message ?? '', /session ended/)
  const stored = await storedSessions(sessions)
  for (const id of grantIds) assert.ok(!stored.includes(id), 'the session ended all the same')
  for (const bank of ['bank-a', 'bank-b'] as const) {
    assert.equal(app.banks[bank].revocationRequests().length, 0, `${bank}: nothing was revoked`)
  }
  assert.deepEqual(app.unexpectedErrors, [])
}

test(
  'logout with the grant store down, redis-server stopped: the session ends, then ERR_GRANT_STORE_UNAVAILABLE (503) names the servers whose grants stay active',
  { skip: missing },
  async (t) => {
    const setup = await linkedOnRedis(t)
    await setup.redis.close()
    await assertIncompleteLogout(setup)
  },
)

test(
  'logout with the grant store down, redis-server holding every command (CLIENT PAUSE): the session ends, then ERR_GRANT_STORE_UNAVAILABLE within its commandTimeout',
  { skip: missing },
  async (t) => {
    const setup = await linkedOnRedis(t)
    // Every client's commands wait for a minute: a server that holds them, not a clock race.
    await setup.admin.sendCommand(['CLIENT', 'PAUSE', '60000', 'ALL'])
    await assertIncompleteLogout(setup)
  },
)
