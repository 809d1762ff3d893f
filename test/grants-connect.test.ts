/**
 * Grants on a real Connect app with express-session (no Express): unlinking one bank,
 * back-channel logout mounted by `fapiClients().router()`, and logout of every bank, against two
 * hostile servers as banks.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { logoutToken } from './support/hostile-logout.js'
import { linkBank, logins, startTwoBanks, type TwoBanks } from './support/two-banks.js'

async function linkedOnConnect(t: Parameters<typeof startTwoBanks>[0]): Promise<TwoBanks> {
  const app = await startTwoBanks(t, { framework: 'connect' })
  assert.equal((await linkBank(app, 'bank-a', { sub: 'alice', sid: 'sid-a1' })).status, 200)
  assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b', sid: 'sid-b1' })).status, 200)
  assert.deepEqual(await logins(app), { 'bank-a': 'alice', 'bank-b': 'alice-b' })
  return app
}

describe('grants on Connect with express-session', () => {
  test("unlink on Connect: unlink(req, name) ends that bank's grant (revoked), keeps the other", async (t) => {
    const app = await linkedOnConnect(t)
    const bankB = app.clients.client('bank-b')
    const [grantB] = await bankB.findGrants({ issuer: app.banks['bank-b'].issuer, sub: 'alice-b' })
    const unlinked = await app.browser.request('/unlink/bank-b', { method: 'POST' })
    assert.deepEqual(await unlinked.json(), { outcome: 'revoked' })
    assert.deepEqual(await logins(app), { 'bank-a': 'alice' })
    assert.equal((await bankB.grant(grantB ?? '').get())?.status, 'ended')
    assert.equal(app.banks['bank-b'].revocationRequests().length, 2)
    assert.equal(app.banks['bank-a'].revocationRequests().length, 0)
    assert.deepEqual(app.unexpectedErrors, [])
  })

  test("Back-Channel Logout on Connect: router()'s route ends the grant the token names; the browser is logged out of that bank at its next request", async (t) => {
    const app = await linkedOnConnect(t)
    const bankB = app.banks['bank-b']
    const token = await logoutToken(bankB, 'portal', { sid: 'sid-b1' })
    const answer = await fetch(`${app.origin}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    })
    assert.equal(answer.status, 200, await answer.clone().text())
    assert.equal(answer.headers.get('cache-control'), 'no-store')
    assert.deepEqual(await logins(app), { 'bank-a': 'alice' })
    assert.equal(bankB.revocationRequests().length, 2)
    // The replay is refused with its code, on Connect too.
    const replay = await fetch(`${app.origin}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    })
    assert.equal(replay.status, 400)
    assert.equal(((await replay.json()) as { error: string }).error, 'ERR_LOGOUT_TOKEN_REPLAYED')
    assert.deepEqual(app.unexpectedErrors, [])
  })

  test('logout on Connect: ends every bank grant of the session (each revoked) before the redirect', async (t) => {
    const app = await linkedOnConnect(t)
    const out = await app.browser.request('/auth/logout', { method: 'POST' })
    assert.equal(out.status, 303)
    assert.deepEqual(await logins(app), {})
    assert.equal(app.banks['bank-a'].revocationRequests().length, 2)
    assert.equal(app.banks['bank-b'].revocationRequests().length, 2)
    assert.deepEqual(app.unexpectedErrors, [])
  })
})
