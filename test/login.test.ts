/**
 * The login route (RFC 9700 §4.11 open redirectors, FAPI 2.0 §5.3.3.1 (4)) and the pending logins
 * it stores: bounded in number and age, keyed by state so that several tabs can log in at once.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  expectError,
  expectLogin,
  expectRejected,
  login,
  setup,
  type Fixture,
} from './support/hostile-fixture.js'

const ALLOWED = 'https://app.example'

const HOSTILE_RETURN_TO: readonly string[] = [
  '?returnTo=//evil.example',
  '?returnTo=%2F%2Fevil.example',
  '?returnTo=https://evil.example/',
  '?returnTo=/%5Cevil.example',
  '?returnTo=%5C%5Cevil.example',
  '?returnTo=javascript:alert(1)',
  '?returnTo=data:text/html,hi',
  '?returnTo=/ok&returnTo=/ok',
  '?returnTo=/%09/evil.example',
  // Dot segments that a browser resolves to a protocol-relative path (//evil.example).
  '?returnTo=/..//evil.example',
  '?returnTo=/.//evil.example',
  '?returnTo=/%2e%2e//evil.example',
  '?returnTo=/a/../..//evil.example',
  '?returnTo=evil.example',
  `?returnTo=${encodeURIComponent(`${ALLOWED}.evil.example/`)}`,
  `?returnTo=${encodeURIComponent('https://app.example@evil.example/')}`,
  `?returnTo=${encodeURIComponent('http://app.example/')}`,
  `?returnTo=${encodeURIComponent('https://app.example:8443/')}`,
]

for (const query of HOSTILE_RETURN_TO) {
  test(`RFC 9700 §4.11, FAPI 2.0 §5.3.3.1 (4): returnTo "${decodeURIComponent(query.slice(10))}" is ERR_INVALID_RETURN_TO`, async (t) => {
    const fx = await setup(t, { client: { returnToOrigins: [ALLOWED] } })
    const answer = await fx.browser.request(`/auth/login${query}`)
    assert.equal(answer.headers.get('location'), null)
    await expectError(answer, 400, 'ERR_INVALID_RETURN_TO')
    assert.equal(fx.as.requests('/par'), 0)
    assert.deepEqual(fx.app.unexpectedErrors, [])
  })
}

const ACCEPTED: readonly [string, string][] = [
  ['', '/'],
  ['?returnTo=%2Faccount%3Ftab%3D1', '/account?tab=1'],
  ['?returnTo=/a/b/../c', '/a/b/../c'],
  [`?returnTo=${encodeURIComponent(`${ALLOWED}/after?x=1`)}`, `${ALLOWED}/after?x=1`],
]

for (const [query, returnTo] of ACCEPTED) {
  test(`RFC 9700 §4.11: returnTo "${returnTo}" (a path or an allowed origin) reaches the handler`, async (t) => {
    const fx = await setup(t, { client: { returnToOrigins: [ALLOWED] } })
    const response = await fx.as.authorize(await fx.browser.startLogin(query))
    const result = await expectLogin(fx, response)
    assert.equal(result.returnTo, returnTo)
    assert.equal(fx.app.logins[0]?.returnTo, returnTo)
  })
}

test('defaultReturnTo is used when no returnTo is given', async (t) => {
  const fx = await setup(t, { client: { defaultReturnTo: '/home' } })
  assert.equal((await expectLogin(fx, await login(fx))).returnTo, '/home')
})

test('STYLE 7: the login answers 303 with no-store, after saving the pending login in the session', async (t) => {
  const fx = await setup(t)
  const answer = await fx.browser.request('/auth/login')
  assert.equal(answer.status, 303)
  assert.equal(answer.headers.get('cache-control'), 'no-store')
  assert.equal(answer.headers.getSetCookie().length, 1)
  await expectLogin(fx, await fx.as.authorize(answer.headers.get('location') ?? ''))
})

/** A clock shared by the client and the server, moved by the test. */
function manualClock(): { now: () => number; advance(ms: number): void } {
  let current = Date.now()
  return { now: () => current, advance: (ms) => void (current += ms) }
}

test('pending logins are bounded: with maxPendingLogins 2 the third login evicts the first', async (t) => {
  const clock = manualClock()
  const fx = await setup(t, { now: clock.now, client: { maxPendingLogins: 2 } })
  const responses = []
  for (let i = 0; i < 3; i += 1) {
    responses.push(await login(fx))
    clock.advance(1000)
  }
  const [first, second, third] = responses
  assert.ok(first && second && third)
  await expectRejected(fx, first, 400, 'ERR_TRANSACTION_NOT_FOUND')
  await expectLogin(fx, third)
  await expectLogin(fx, second)
})

test('an expired pending login is ERR_TRANSACTION_EXPIRED, with no token request', async (t) => {
  const clock = manualClock()
  const fx = await setup(t, { now: clock.now, client: { pendingLoginMaxAge: 60 } })
  const response = await login(fx)
  clock.advance(61_000)
  const fresh = await response.mint()
  await expectRejected(fx, fresh, 400, 'ERR_TRANSACTION_EXPIRED')
  // Used up all the same.
  await expectRejected(fx, fresh, 400, 'ERR_TRANSACTION_NOT_FOUND')
})

test('a pending login just younger than pendingLoginMaxAge still completes', async (t) => {
  const clock = manualClock()
  const fx = await setup(t, { now: clock.now, client: { pendingLoginMaxAge: 60 } })
  const response = await login(fx)
  clock.advance(59_000)
  await expectLogin(fx, await response.mint())
})

test('two tabs: two logins in one browser, completed in reverse order, both succeed', async (t) => {
  const fx = await setup(t)
  const first = await fx.as.authorize(await fx.browser.startLogin('?returnTo=/one'))
  const second = await fx.as.authorize(await fx.browser.startLogin('?returnTo=/two'))
  assert.equal((await expectLogin(fx, second)).returnTo, '/two')
  assert.equal((await expectLogin(fx, first)).returnTo, '/one')
  assert.equal(fx.as.requests('/token'), 2)
})

test('a login in another browser does not disturb this one', async (t) => {
  const fx: Fixture = await setup(t)
  const other = fx.newBrowser()
  const mine = await login(fx)
  const theirs = await login(fx, undefined, other)
  await expectLogin(fx, theirs, other)
  await expectLogin(fx, mine)
})

test('OWASP session fixation: the session id changes when the login completes', async (t) => {
  const fx = await setup(t)
  const response = await login(fx)
  const before = fx.browser.cookieHeader
  await expectLogin(fx, response)
  assert.notEqual(fx.browser.cookieHeader, before)
  // The old session id does not carry the login.
  const stale = fx.newBrowser()
  const answer = await stale.request('/me', { headers: { cookie: before } })
  assert.equal(answer.status, 401)
})

test('anonymous logins are bounded: the session of an anonymous login expires with pendingLoginMaxAge', async (t) => {
  const fx = await setup(t, { client: { pendingLoginMaxAge: 120 } })
  const response = await fetch(`${fx.app.origin}/auth/login`, { redirect: 'manual' })
  assert.equal(response.status, 303)
  const cookie = response.headers.get('set-cookie') ?? ''
  const expires = /Expires=([^;]+)/i.exec(cookie)?.[1]
  assert.ok(expires !== undefined, `the anonymous session cookie has an expiry: ${cookie}`)
  const lifetime = Date.parse(expires) - Date.now()
  assert.ok(
    lifetime <= 121_000,
    `the session lives no longer than its pending login (${lifetime} ms)`,
  )
})

test('anonymous logins are bounded: a login refused at once (bad returnTo) creates no session', async (t) => {
  const fx = await setup(t)
  const response = await fetch(`${fx.app.origin}/auth/login?returnTo=//evil.example`, {
    headers: { accept: 'application/json' },
    redirect: 'manual',
  })
  assert.equal(response.status, 400)
  assert.equal(response.headers.get('set-cookie'), null, 'no session cookie')
  assert.equal(fx.as.requests('/par'), 0, 'no PAR call')
})
