/**
 * Several instances in their own processes, on one real redis-server (sessions through
 * connect-redis, coordination through `redisCoordination()`), against the hostile server, which
 * counts every request: duplicate deliveries of one response across instances are redeemed once,
 * parallel refreshes of one login are one refresh, a logout on one instance during a refresh on
 * another stays a logout, and a Redis outage gives codes, no double login, and recovery.
 */
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, test } from 'node:test'
import { createClient } from 'redis'
import { logoutToken } from './support/hostile-logout.js'
import { AppBrowser } from './support/app.js'
import { CLIENT_ID, clientKey } from './support/hostile-fixture.js'
import { startHostileServer, type Delivery, type HostileServer } from './support/hostile-server.js'
import { redisMissing, startRedis, type StartedRedis } from './support/redis.js'

const missing = redisMissing()
if (missing !== false) console.log(`# skipping multi-instance coordination tests: ${missing}`)

const cleanups: Array<() => Promise<void>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function startInstance(env: Record<string, string>): Promise<string> {
  const child = fork(new URL('./support/instance.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  cleanups.push(async () => {
    if (child.exitCode !== null) return
    child.send('stop')
    await once(child, 'exit')
  })
  const [message] = (await once(child, 'message')) as [{ origin: string }]
  return message.origin
}

/** The delivery sent to another instance (same path, same cookie: the balancer's choice). */
function at(origin: string, delivery: Delivery): string {
  const url = new URL(delivery.url)
  url.host = new URL(origin).host
  return url.href
}

async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: string }
  return body.error ?? ''
}

/** Waits (bounded) until the server has seen `count` requests to `path`. */
async function seen(as: HostileServer, path: string, count: number): Promise<void> {
  for (let round = 0; round < 500 && as.requests(path) < count; round += 1) await sleep(10)
  assert.ok(as.requests(path) >= count, `${path} reached ${count}`)
}

describe('several instances coordinate through Redis', { skip: missing }, () => {
  let as: HostileServer
  let sessions: StartedRedis
  let coordination: StartedRedis
  let instances: string[] = []

  before(async () => {
    ;[sessions, coordination] = await Promise.all([startRedis(), startRedis()])
    cleanups.push(() => sessions.close())
    cleanups.push(() => coordination.close())
    const key = await clientKey('ES256')
    as = await startHostileServer({ clientId: CLIENT_ID, clientJwks: { keys: [key.publicJwk] } })
    cleanups.push(() => as.close())
    // Sessions and coordination on two servers, so that an outage of the coordination store
    // alone shows express-fapi's own answer (a shared server fails the session store first).
    const env = {
      REDIS_URL: sessions.url,
      COORDINATION_REDIS_URL: coordination.url,
      ISSUER: as.issuer,
      REDIRECT_URI: 'http://127.0.0.1:1/auth/callback',
      CLIENT_JWK: JSON.stringify(key.privateJwk),
      HOSTILE: '1',
    }
    // Four app processes: the duplicate deliveries and the refreshes go round all of them.
    instances = await Promise.all(Array.from({ length: 4 }, () => startInstance(env)))
  })

  test('JARM §4.4 (final), RFC 9700 §4.5: 200 duplicate deliveries across instances, one token request per response', async () => {
    const [a = ''] = instances
    const before = as.requests('/token')
    const logins = 20
    const copies = 10
    for (let round = 0; round < logins; round += 1) {
      const browser = new AppBrowser(a)
      const delivery = await as.authorize(await browser.startLogin())
      const answers = await Promise.all(
        Array.from({ length: copies }, (_, index) =>
          browser.request(at(instances[index % instances.length] ?? a, delivery)),
        ),
      )
      const statuses = answers.map((answer) => answer.status)
      assert.equal(statuses.filter((status) => status === 200).length, 1, statuses.join(','))
      assert.ok(
        statuses.every((status) => status === 200 || status === 400),
        statuses.join(','),
      )
    }
    assert.equal(as.requests('/token') - before, logins, 'exactly one redemption per response')
  })

  test('FAPI 2.0 §5.3.3.1 (6): parallel refreshes of one login on four instances are one refresh request', async () => {
    const [a = '', b = ''] = instances
    const browser = new AppBrowser(a)
    const delivery = await as.authorize(await browser.startLogin())
    assert.equal((await browser.request(at(b, delivery))).status, 200)
    const before = as.requests('/token')
    as.fault('/token', (reply) => ({ ...reply, delayMs: 100 }))
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        browser.request(`${instances[index % instances.length] ?? a}/refresh`, { method: 'POST' }),
      ),
    )
    as.fault('/token', undefined)
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array.from({ length: 10 }, () => 200),
    )
    assert.equal(as.requests('/token') - before, 1, 'one refresh request at the server')
  })

  test('session integrity: a logout on instance B during a refresh on instance A stays logged out', async () => {
    const [a = '', b = ''] = instances
    const browser = new AppBrowser(a)
    const delivery = await as.authorize(await browser.startLogin())
    assert.equal((await browser.request(at(a, delivery))).status, 200)
    const before = as.requests('/token')
    as.fault('/token', (reply) => ({ ...reply, delayMs: 400 }))
    const refreshing = browser.request(`${a}/refresh`, { method: 'POST' })
    await seen(as, '/token', before + 1)
    assert.equal((await browser.request(`${b}/auth/logout`, { method: 'POST' })).status, 303)
    const refreshed = await refreshing
    as.fault('/token', undefined)
    assert.equal(refreshed.status, 401)
    assert.equal(await errorCode(refreshed), 'ERR_LOGIN_REQUIRED')
    for (const origin of [a, b]) {
      assert.equal((await browser.request(`${origin}/me`)).status, 401, `logged out on ${origin}`)
    }
  })

  test('RFC 7009 §2.1, across instances: what a refresh on A minted after a logout on B is revoked', async () => {
    const [a = '', b = ''] = instances
    const browser = new AppBrowser(a)
    const delivery = await as.authorize(await browser.startLogin())
    assert.equal((await browser.request(at(a, delivery))).status, 200)
    const minted: string[] = []
    as.fault('/token', (reply) => {
      const body = reply.body as Record<string, unknown> | undefined
      for (const name of ['access_token', 'refresh_token']) {
        if (typeof body?.[name] === 'string') minted.push(body[name])
      }
      return { ...reply, delayMs: 400 }
    })
    const before = as.requests('/token')
    const revokedBefore = as.revocationRequests().length
    const refreshing = browser.request(`${a}/refresh`, { method: 'POST' })
    await seen(as, '/token', before + 1)
    assert.equal((await browser.request(`${b}/auth/logout`, { method: 'POST' })).status, 303)
    assert.equal((await refreshing).status, 401)
    as.fault('/token', undefined)
    const revoked = as
      .revocationRequests()
      .slice(revokedBefore)
      .map((form) => form.get('token'))
    assert.equal(minted.length, 2, 'the refresh minted an access and a refresh token')
    for (const token of minted) assert.ok(revoked.includes(token), 'every minted token is revoked')
  })

  test('Back-Channel Logout §2.7, across instances: a logout token delivered to instance A logs the browser out on B', async () => {
    const [a = '', b = ''] = instances
    const browser = new AppBrowser(b)
    as.idToken = { claims: (c) => ({ ...c, sid: 'sid-across' }) }
    const delivery = await as.authorize(await browser.startLogin())
    assert.equal((await browser.request(at(b, delivery))).status, 200)
    as.idToken = {}
    assert.equal((await browser.request(`${b}/me`)).status, 200)
    const token = await logoutToken(as, CLIENT_ID, { sid: 'sid-across' })
    const answer = await fetch(`${a}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    })
    assert.equal(answer.status, 200, await answer.clone().text())
    assert.equal((await browser.request(`${b}/me`)).status, 401, 'logged out on B')
  })

  test('Back-Channel Logout §2.6 (6), across instances: 1,000 duplicate logout tokens end one grant once; every replay is refused', async () => {
    const [a = ''] = instances
    const browser = new AppBrowser(a)
    as.idToken = { claims: (c) => ({ ...c, sid: 'sid-duplicates' }) }
    const delivery = await as.authorize(await browser.startLogin())
    assert.equal((await browser.request(at(a, delivery))).status, 200)
    as.idToken = {}
    const token = await logoutToken(as, CLIENT_ID, { sid: 'sid-duplicates' })
    const revokedBefore = as.revocationRequests().length
    const statuses: number[] = []
    // 1,000 deliveries round the four instances, 50 at a time (bounded).
    for (let batch = 0; batch < 20; batch += 1) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          fetch(`${instances[index % instances.length] ?? a}/auth/backchannel-logout`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ logout_token: token }),
          }),
        ),
      )
      for (const answer of answers) {
        statuses.push(answer.status)
        if (answer.status !== 200)
          assert.equal(await errorCode(answer), 'ERR_LOGOUT_TOKEN_REPLAYED')
        else await answer.arrayBuffer()
      }
    }
    assert.equal(statuses.filter((status) => status === 200).length, 1, 'accepted once')
    assert.equal(statuses.filter((status) => status === 400).length, 999)
    assert.equal(as.revocationRequests().length - revokedBefore, 2, 'one grant ended, revoked once')
    assert.equal((await browser.request(`${a}/me`)).status, 401)
  })

  test('FAPI 2.0 §5.3.3.1 (6): a background job on instance B and a request on A refresh one grant with one token request', async () => {
    const [a = '', b = ''] = instances
    const browser = new AppBrowser(a)
    const delivery = await as.authorize(await browser.startLogin())
    assert.equal((await browser.request(at(a, delivery))).status, 200)
    const { id } = (await (await browser.request(`${a}/grant-id`)).json()) as { id: string }
    // Every claim of a refresh lock, as the coordination store receives it: the second claim of
    // the lock A holds is B, refused, waiting for A's result.
    const monitor = createClient({ url: coordination.url })
    monitor.on('error', () => undefined)
    await monitor.connect()
    const lockKeys: string[] = []
    let contended: () => void = () => undefined
    const bWaits = new Promise<'waiting'>((resolve) => (contended = () => resolve('waiting')))
    await monitor.monitor((line: string) => {
      const key = /"SET" "([^"]*refresh:[^"]*:lock)" "[^"]*" "NX"/.exec(line)?.[1]
      if (key === undefined) return
      lockKeys.push(key)
      if (lockKeys.length === 2 && lockKeys[0] === key) contended()
    })
    try {
      const before = as.requests('/token')
      let release: () => void = () => undefined
      const gate = new Promise<void>((resolve) => (release = resolve))
      as.fault('/token', (reply) => ({ ...reply, holdUntil: gate }))
      const user = browser.request(`${a}/refresh`, { method: 'POST' })
      // A holds the lock and its token request is at the server, held.
      await as.held('/token', 1)
      const job = fetch(`${b}/background/refresh?${new URLSearchParams({ id })}`, {
        method: 'POST',
      })
      // B tried the lock A holds and lost: it waits for A's result. Only then does the server
      // answer. (A second token request held at the server would mean B did not wait.)
      const second = await Promise.race([
        bWaits,
        as.held('/token', 2).then(() => 'its own token request' as const),
      ])
      release()
      const [userAnswer, jobAnswer] = await Promise.all([user, job])
      as.fault('/token', undefined)
      assert.equal(second, 'waiting', 'B waited on the lock A held')
      assert.equal(userAnswer.status, 200, await userAnswer.clone().text())
      assert.equal(jobAnswer.status, 200, await jobAnswer.clone().text())
      assert.equal(as.requests('/token') - before, 1, 'one token request for both')
    } finally {
      monitor.destroy()
    }
  })

  test('Redis stopped and restarted: ERR_COORDINATION_UNAVAILABLE, no double login, then recovery', async () => {
    const [a = '', b = ''] = instances
    const browser = new AppBrowser(a)
    const delivery = await as.authorize(await browser.startLogin())
    const before = as.requests('/token')
    await coordination.close()
    const answers = await Promise.all(
      [a, b, a, b].map((origin) =>
        browser.request(at(origin, delivery), { headers: { accept: 'application/json' } }),
      ),
    )
    const codes = await Promise.all(answers.map(errorCode))
    assert.ok(
      answers.every((answer) => answer.status === 503 || answer.status === 400),
      answers.map((answer) => answer.status).join(','),
    )
    assert.ok(codes.includes('ERR_COORDINATION_UNAVAILABLE'), codes.join(','))
    assert.equal(as.requests('/token'), before, 'no token request while Redis is down')
    assert.equal((await browser.request(`${a}/me`)).status, 401, 'no login')

    coordination = await startRedis(coordination.port)
    // The clients reconnect by themselves; a new login completes once they have (bounded).
    let status = 0
    for (let round = 0; round < 100 && status !== 200; round += 1) {
      const retry = new AppBrowser(a)
      const again = await as.authorize(await retry.startLogin())
      status = (await retry.request(at(round % 2 === 0 ? a : b, again))).status
      if (status !== 200) await sleep(100)
    }
    assert.equal(status, 200, 'logins work again once Redis is back')
    // The response delivered during the outage stays used: its pending login was consumed.
    const replay = await browser.request(at(b, delivery), {
      headers: { accept: 'application/json' },
    })
    assert.equal(await errorCode(replay), 'ERR_TRANSACTION_NOT_FOUND')
    assert.equal(as.requests('/token'), before + 1, 'one token request: the recovered login')
  })
})
