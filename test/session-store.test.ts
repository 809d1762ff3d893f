/**
 * Sessions under failure and at their limits: a store that fails, pending logins bounded in count
 * (with their size measured), against a real authorization server.
 */
import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import session from 'express-session'
import { AppBrowser } from './support/app.js'
import { startRealLogin, type RealLogin } from './support/real-login.js'
import { UserAgent } from './support/user-agent.js'

/** A MemoryStore whose writes and reads can be made to fail. */
class FlakyStore extends session.MemoryStore {
  failSet = false
  failGet = false
  /** Store calls by method, for counting round trips. */
  readonly calls: string[] = []
  failDestroy = false
  override touch(sid: string, data: session.SessionData, callback?: () => void): void {
    this.calls.push('touch')
    super.touch(sid, data, callback)
  }
  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.calls.push('destroy')
    if (this.failDestroy) {
      callback?.(new Error('store destroy failed'))
      return
    }
    super.destroy(sid, callback)
  }
  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    this.calls.push('set')
    if (this.failSet) {
      callback?.(new Error('store write failed'))
      return
    }
    super.set(sid, data, callback)
  }
  override get(
    sid: string,
    callback: (err: unknown, data?: session.SessionData | null) => void,
  ): void {
    this.calls.push('get')
    if (this.failGet) {
      callback(new Error('store read failed'))
      return
    }
    super.get(sid, callback)
  }
}

/** A real server and app for one test, sharing `store`, with a login helper. */
async function setUp(
  t: TestContext,
  store: session.Store,
  extra: { maxPendingLogins?: number } = {},
): Promise<RealLogin> {
  return startRealLogin(t, extra, { store })
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error
}

describe('session store failures', () => {
  test('a store that cannot save at login: ERR_SESSION_STORE, no redirect to the server', async (t) => {
    const store = new FlakyStore()
    const { app, as } = await setUp(t, store)
    store.failSet = true
    const response = await new AppBrowser(app.origin).request('/auth/login')
    assert.equal(response.status, 500)
    assert.equal(await errorOf(response), 'ERR_SESSION_STORE')
    assert.equal(response.headers.get('location'), null)
    assert.deepEqual(app.unexpectedErrors, [])
    void as
  })

  test('a callback costs the store a read, the regeneration (single use) and the login write', async (t) => {
    const store = new FlakyStore()
    const { app } = await setUp(t, store)
    const browser = new AppBrowser(app.origin)
    const delivery = await new UserAgent().authorize(await browser.startLogin(), {
      redirectUri: app.redirectUri,
    })
    store.calls.length = 0
    const response = await browser.deliver(delivery)
    assert.equal(response.status, 200)
    // get: the session; destroy: regenerate() drops the old session, and the pending login with it
    // (single use, before the code is redeemed; no fixation); set: the new session with the login;
    // set: express-session saves a regenerated session again when the response ends.
    assert.deepEqual(store.calls, ['get', 'destroy', 'set', 'set'])
  })

  test('a store that cannot drop the used session at the callback: ERR_SESSION_STORE before any token request', async (t) => {
    const store = new FlakyStore()
    const { app, as } = await setUp(t, store)
    const browser = new AppBrowser(app.origin)
    const delivery = await new UserAgent().authorize(await browser.startLogin(), {
      redirectUri: app.redirectUri,
    })
    // The response is made single-use by destroying the session that holds its pending login.
    store.failDestroy = true
    const response = await browser.deliver(delivery)
    assert.equal(response.status, 500)
    assert.equal(await errorOf(response), 'ERR_SESSION_STORE')
    assert.equal(
      as.requests('/token'),
      0,
      'the code is not redeemed when consumption cannot be saved',
    )
    assert.equal(app.logins.length, 0)
    store.failDestroy = false
    assert.equal((await browser.request('/me')).status, 401)
  })

  test('a store that cannot save the new session at the callback: ERR_SESSION_STORE, no login, no handler call', async (t) => {
    const store = new FlakyStore()
    const { app } = await setUp(t, store)
    const browser = new AppBrowser(app.origin)
    const delivery = await new UserAgent().authorize(await browser.startLogin(), {
      redirectUri: app.redirectUri,
    })
    store.failSet = true
    const response = await browser.deliver(delivery)
    assert.equal(response.status, 500)
    assert.equal(await errorOf(response), 'ERR_SESSION_STORE')
    assert.equal(app.logins.length, 0)
    store.failSet = false
    assert.equal((await browser.request('/me')).status, 401)
    // The response was used: delivering it again finds no pending login.
    assert.equal(await errorOf(await browser.deliver(delivery)), 'ERR_TRANSACTION_NOT_FOUND')
  })

  test('a store that cannot read: express-session fails the request, the handler is never called', async (t) => {
    const store = new FlakyStore()
    const { app, as } = await setUp(t, store)
    const browser = new AppBrowser(app.origin)
    const delivery = await new UserAgent().authorize(await browser.startLogin(), {
      redirectUri: app.redirectUri,
    })
    store.failGet = true
    const response = await browser.deliver(delivery)
    assert.equal(response.status, 500)
    assert.equal(as.requests('/token'), 0)
    assert.equal(app.logins.length, 0)
    // express-session reports the store error itself, before express-fapi runs.
    assert.equal(app.unexpectedErrors.length, 1)
  })

  test('a lost session cookie at the callback: ERR_TRANSACTION_NOT_FOUND, not a crash', async (t) => {
    const { app, as } = await setUp(t, new session.MemoryStore())
    const browser = new AppBrowser(app.origin)
    const delivery = await new UserAgent().authorize(await browser.startLogin(), {
      redirectUri: app.redirectUri,
    })
    browser.clearCookies()
    const response = await browser.deliver(delivery)
    assert.equal(response.status, 400)
    assert.equal(await errorOf(response), 'ERR_TRANSACTION_NOT_FOUND')
    assert.equal(as.requests('/token'), 0)
  })
})

describe('pending logins per session are bounded', () => {
  test('at most maxPendingLogins are kept, oldest dropped; measured size per pending login', async (t) => {
    const store = new session.MemoryStore()
    const { app } = await setUp(t, store, { maxPendingLogins: 5 })
    const browser = new AppBrowser(app.origin)
    const sizes: number[] = []
    for (let i = 0; i < 8; i += 1) {
      await browser.startLogin(`?returnTo=%2Fpage${i}`)
      const all = await new Promise<Record<string, session.SessionData>>((resolve) =>
        store.all((_err: unknown, sessions) =>
          resolve((sessions ?? {}) as Record<string, session.SessionData>),
        ),
      )
      const [data] = Object.values(all)
      assert.ok(data)
      const pending = Object.keys(data.fapi?.transactions ?? {}).length
      assert.equal(pending, Math.min(i + 1, 5))
      sizes.push(Buffer.byteLength(JSON.stringify(data.fapi)))
    }
    const perTransaction = ((sizes[4] ?? 0) - (sizes[0] ?? 0)) / 4
    console.log(
      `# session data: ${sizes[0]} bytes with 1 pending login, ${sizes[4]} with 5 (≈ ${Math.round(perTransaction)} bytes each)`,
    )
    assert.ok(perTransaction < 1024, 'under 1 KB per pending login')
    assert.equal(sizes[7], sizes[4], 'the sixth and later logins evict, the size stays flat')
  })
})
