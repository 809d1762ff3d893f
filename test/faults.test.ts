/**
 * Authorization-server faults at every endpoint the client calls: each gives a clear error with a
 * code and a 502/504, and the next login works once the server has recovered (no failure is
 * cached). Timeouts fire on the test's signal (a manual `httpTimer`, expired once the server holds
 * the request), so no case depends on how fast a loaded machine is.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FapiErrorCode } from '../src/index.js'
import { expectError, expectLogin, login, setup, type Fixture } from './support/hostile-fixture.js'
import type { Reply } from './support/hostile-server.js'
import { manualTimer, type ManualTimer } from './support/manual-timer.js'

interface Fault {
  readonly name: string
  readonly reply: (reply: Reply) => Reply
  readonly status: number
  readonly code: FapiErrorCode
  /** The server holds the request: the client's timeout is expired once it does. */
  readonly hang?: true
}

const FAULTS: readonly Fault[] = [
  {
    name: 'hangs',
    reply: (r) => ({ ...r, hang: true }),
    status: 504,
    code: 'ERR_AS_TIMEOUT',
    hang: true,
  },
  {
    name: 'answers 500',
    reply: () => ({ status: 500, body: { error: 'server_error' } }),
    status: 502,
    code: 'ERR_AS_HTTP_STATUS',
  },
  {
    name: 'answers an HTML 503',
    reply: () => ({ status: 503, raw: '<html>maintenance</html>', contentType: 'text/html' }),
    status: 502,
    code: 'ERR_AS_HTTP_STATUS',
  },
  {
    name: 'answers HTML with a success status',
    reply: (r) => ({ status: r.status, raw: '<html>hello</html>', contentType: 'text/html' }),
    status: 502,
    code: 'ERR_AS_INVALID_JSON',
  },
  {
    name: 'answers invalid JSON',
    reply: (r) => ({ status: r.status, raw: '{"issuer": ' }),
    status: 502,
    code: 'ERR_AS_INVALID_JSON',
  },
  {
    name: 'streams a huge body',
    reply: (r) => ({ status: r.status, streamBytes: 4 << 20 }),
    status: 502,
    code: 'ERR_AS_RESPONSE_TOO_LARGE',
  },
  {
    name: 'resets the connection',
    reply: (r) => ({ ...r, destroy: true }),
    status: 502,
    code: 'ERR_AS_UNREACHABLE',
  },
]

const ENDPOINTS = [
  { path: '/.well-known/openid-configuration', at: 'login' },
  { path: '/par', at: 'login' },
  { path: '/jwks', at: 'callback' },
  { path: '/token', at: 'callback' },
] as const

async function fixture(
  t: Parameters<typeof setup>[0],
): Promise<Fixture & { readonly clock: ManualTimer }> {
  const clock = manualTimer()
  const fx = await setup(t, { client: { httpTimer: clock.timer, maxResponseBytes: 64 << 10 } })
  return { ...fx, clock }
}

/** The answer to a request; when the fault hangs, the client's timeout fires once it is held. */
async function answered(
  fx: Fixture & { readonly clock: ManualTimer },
  fault: Fault,
  path: string,
  request: Promise<Response>,
): Promise<Response> {
  if (fault.hang === true) {
    await fx.as.held(path)
    assert.equal(fx.clock.expire(), 1, 'one request waits: the held one')
  }
  return request
}

describe('authorization-server faults', () => {
  for (const endpoint of ENDPOINTS) {
    for (const fault of FAULTS) {
      test(
        `${endpoint.path} ${fault.name}: ${fault.code} (${fault.status}), then recovery`,
        { timeout: 20_000 },
        async (t) => {
          const fx = await fixture(t)
          fx.as.fault(endpoint.path, fault.reply)
          if (endpoint.at === 'login') {
            const answer = answered(fx, fault, endpoint.path, fx.browser.request('/auth/login'))
            await expectError(await answer, fault.status, fault.code)
          } else {
            const delivery = await login(fx)
            const answer = answered(fx, fault, endpoint.path, fx.browser.deliver(delivery))
            await expectError(await answer, fault.status, fault.code)
            assert.equal(fx.app.logins.length, 0)
          }
          fx.as.fault(endpoint.path, undefined)
          await expectLogin(fx, await login(fx))
        },
      )
    }
  }

  test('the app starts while the server is down, and logs in once it is up', async (t) => {
    const fx = await fixture(t)
    await fx.as.down()
    // fapiClient() contacted nothing at startup; the first login finds the server refusing.
    await expectError(await fx.browser.request('/auth/login'), 502, 'ERR_AS_UNREACHABLE')
    await fx.as.up()
    await expectLogin(fx, await login(fx))
    assert.equal(fx.as.requests('/.well-known/openid-configuration'), 1)
  })

  test('a JWKS outage with keys already cached: logins still work', async (t) => {
    const fx = await fixture(t)
    await expectLogin(fx, await login(fx))
    fx.as.fault('/jwks', () => ({ status: 503, raw: 'down' }))
    await expectLogin(fx, await login(fx))
    assert.equal(fx.as.requests('/jwks'), 1, 'cached keys served the second login')
  })

  test('the server down between login and callback: the callback fails cleanly, then works', async (t) => {
    const fx = await fixture(t)
    await expectLogin(fx, await login(fx))
    const delivery = await login(fx)
    await fx.as.down()
    await expectError(await fx.browser.deliver(delivery), 502, 'ERR_AS_UNREACHABLE')
    await fx.as.up()
    await expectLogin(fx, await login(fx))
  })

  test('an unreachable server is named by its URL, with why', async (t) => {
    const fx = await fixture(t)
    await fx.as.down()
    const answer = await fx.browser.request('/auth/login')
    const body = (await answer.json()) as { error: string; message: string }
    assert.equal(body.error, 'ERR_AS_UNREACHABLE')
    assert.ok(
      body.message.includes(`${fx.as.issuer}${'/.well-known/openid-configuration'}`),
      body.message,
    )
    assert.match(body.message, /connection refused/)
    await fx.as.up()
  })

  test('a server that does not answer in time is named by its URL', async (t) => {
    const fx = await fixture(t)
    const hang = FAULTS[0]
    assert.ok(hang?.hang === true)
    fx.as.fault('/par', hang.reply)
    const answer = await answered(fx, hang, '/par', fx.browser.request('/auth/login'))
    const body = (await answer.json()) as { error: string; message: string }
    assert.equal(body.error, 'ERR_AS_TIMEOUT')
    assert.ok(body.message.includes(`${fx.as.issuer}/par`), body.message)
  })
})
