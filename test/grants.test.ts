/**
 * Grants kept server-side: the session refers to grants by id, every transition is atomic in the
 * grant store, so nothing a session copy holds can bring a login back. Regression tests of the
 * findings against a real Express 5 app with `fapiClients()` and two hostile servers as banks.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Reply } from './support/hostile-server.js'
import type { IncomingMessage } from 'node:http'
import { linkBank, logins, seen, startTwoBanks } from './support/two-banks.js'

/** Records every refresh token a bank issues, in order. */
function issuedRefreshTokens(as: { token: (reply: Reply) => Reply }): string[] {
  const issued: string[] = []
  as.token = (reply: Reply) => {
    const body = reply.body as Record<string, unknown> | undefined
    if (typeof body?.refresh_token === 'string') issued.push(body.refresh_token)
    return reply
  }
  return issued
}

describe('logout wins over every refresh in flight', () => {
  test("RP-Initiated Logout §2, logout ends every grant: a second bank's refresh in flight does not resurrect a logged-out session", async (t) => {
    const app = await startTwoBanks(t)
    const bankA = app.banks['bank-a']
    const bankB = app.banks['bank-b']
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'alice', 'bank-b': 'alice-b' })
    const issuedB = issuedRefreshTokens(bankB)
    const before = bankB.requests('/token')
    bankB.fault('/token', (reply) => ({ ...reply, delayMs: 400 }))
    const refreshing = app.browser.request('/refresh/bank-b', { method: 'POST' })
    await seen(bankB, '/token', before + 1)
    const logout = await app.browser.request('/auth/logout', { method: 'POST' })
    assert.equal(logout.status, 303)
    assert.deepEqual(await logins(app), {}, 'logged out of both banks at once')
    const refreshed = await refreshing
    assert.equal(refreshed.status, 401, await refreshed.clone().text())
    assert.equal(((await refreshed.json()) as { error: string }).error, 'ERR_LOGIN_REQUIRED')
    assert.deepEqual(await logins(app), {}, 'the refresh brought nothing back')
    assert.equal(bankA.revocationRequests().length, 2, "bank A's refresh and access tokens")
    const revokedB = bankB.revocationRequests().map((form) => form.get('token'))
    assert.ok(revokedB.length >= 2, "bank B's grant was ended and revoked too")
    assert.ok(issuedB.length === 1 && revokedB.includes(issuedB[0] ?? ''), 'and what it minted')
    assert.deepEqual(app.unexpectedErrors, [])
  })

  test('RFC 7009 §2.1, revocation of what a refresh minted: a refresh completing after its grant ended revokes its new tokens', async (t) => {
    const app = await startTwoBanks(t)
    const bank = app.banks['bank-a']
    assert.equal((await linkBank(app, 'bank-a')).status, 200)
    const issued = issuedRefreshTokens(bank)
    const minted: string[] = []
    bank.fault('/token', (reply) => {
      const body = reply.body as Record<string, unknown> | undefined
      if (typeof body?.access_token === 'string') minted.push(body.access_token)
      return { ...reply, delayMs: 400 }
    })
    const before = bank.requests('/token')
    const refreshing = app.browser.request('/refresh/bank-a', { method: 'POST' })
    await seen(bank, '/token', before + 1)
    assert.equal((await app.browser.request('/auth/logout', { method: 'POST' })).status, 303)
    assert.equal((await refreshing).status, 401)
    const revoked = bank.revocationRequests().map((form) => form.get('token'))
    assert.equal(issued.length, 1, 'the refresh minted a new refresh token')
    assert.ok(revoked.includes(issued[0] ?? ''), 'the new refresh token is revoked')
    assert.ok(revoked.includes(minted[0] ?? ''), 'and the new access token')
  })

  test('session integrity, a stale session copy holds no login: an app request saving its copy after the logout writes nothing back', async (t) => {
    const app = await startTwoBanks(t)
    assert.equal((await linkBank(app, 'bank-a')).status, 200)
    const { reached, release } = app.holdStaleWrites()
    const stale = app.browser.request('/stale-write', { method: 'POST' })
    await reached
    assert.equal((await app.browser.request('/auth/logout', { method: 'POST' })).status, 303)
    release()
    assert.equal((await stale).status, 204)
    assert.deepEqual(await logins(app), {}, 'still logged out')
  })
})

describe('unlinking one bank, and grants used without a request', () => {
  test("unlink(req, name): ends that bank's grant (revoked), keeps the other", async (t) => {
    const app = await startTwoBanks(t)
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b' })).status, 200)
    const unlinked = await app.browser.request('/unlink/bank-b', { method: 'POST' })
    assert.deepEqual(await unlinked.json(), { outcome: 'revoked' })
    assert.deepEqual(await logins(app), { 'bank-a': 'alice' })
    assert.equal(app.banks['bank-b'].revocationRequests().length, 2)
    assert.equal(app.banks['bank-a'].revocationRequests().length, 0)
  })

  test('auth.grant(grantId): a background job refreshes and calls the bank with no request; end() logs the browser out', async (t) => {
    const app = await startTwoBanks(t)
    const callback = await linkBank(app, 'bank-a', { sub: 'alice' })
    assert.equal(callback.status, 200)
    const bankA = app.clients.client('bank-a')
    const [grantId] = await bankA.findGrants({ issuer: app.banks['bank-a'].issuer, sub: 'alice' })
    assert.ok(grantId !== undefined)
    const grant = bankA.grant(grantId)
    const refreshed = await grant.refresh()
    assert.equal(refreshed.generation, 1)
    const answer = await grant.fetchResource(`${app.banks['bank-a'].issuer}/userinfo`)
    assert.equal(answer.status, 200)
    assert.equal((await grant.get())?.status, 'active')
    assert.equal(await grant.end(), 'revoked')
    assert.deepEqual(await logins(app), {}, 'the browser session sees the end at once')
    await assert.rejects(grant.refresh(), { code: 'ERR_LOGIN_REQUIRED' })
  })
})

describe("the session's owner: a login never keeps another identity's grants", () => {
  test("session fixation, a login establishing another owner starts a fresh session: a planted session's bank-B grant is not kept", async (t) => {
    const app = await startTwoBanks(t)
    // The attacker links his own accounts, then plants his session cookie in the victim's browser.
    assert.equal((await linkBank(app, 'bank-a', { sub: 'mallory' })).status, 200)
    assert.equal((await linkBank(app, 'bank-b', { sub: 'mallory-b' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'mallory', 'bank-b': 'mallory-b' })
    // The victim, in that browser, logs in at bank A (the identity server).
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'alice' }, "no grant of the attacker's")
    // Her own bank-B login links to her.
    assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'alice', 'bank-b': 'alice-b' })
    // The same identity at the identity server again keeps what is hers.
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'alice', 'bank-b': 'alice-b' })
  })

  test("session fixation, a grant dropped for another owner is ended: the planted session's grants are ended in the store and revoked; auth.grant(id) refuses them", async (t) => {
    const app = await startTwoBanks(t)
    assert.equal((await linkBank(app, 'bank-a', { sub: 'mallory' })).status, 200)
    assert.equal((await linkBank(app, 'bank-b', { sub: 'mallory-b' })).status, 200)
    const bankA = app.clients.client('bank-a')
    const bankB = app.clients.client('bank-b')
    const [planted] = await bankB.findGrants({
      issuer: app.banks['bank-b'].issuer,
      sub: 'mallory-b',
    })
    const [plantedA] = await bankA.findGrants({
      issuer: app.banks['bank-a'].issuer,
      sub: 'mallory',
    })
    assert.ok(planted !== undefined && plantedA !== undefined)
    const revokedBefore = app.banks['bank-b'].revocationRequests().length
    // The victim logs in at the identity server in the browser holding the planted session.
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'alice' })
    assert.equal((await bankB.grant(planted).get())?.status, 'ended', "bank B's grant ended")
    assert.equal((await bankA.grant(plantedA).get())?.status, 'ended', "and bank A's previous one")
    assert.equal(
      app.banks['bank-b'].revocationRequests().length - revokedBefore,
      2,
      'its refresh and access tokens revoked',
    )
    await assert.rejects(bankB.grant(planted).refresh(), { code: 'ERR_LOGIN_REQUIRED' })
    await assert.rejects(
      bankB.grant(planted).fetchResource(`${app.banks['bank-b'].issuer}/userinfo`),
      {
        code: 'ERR_LOGIN_REQUIRED',
      },
    )
    // The same owner again keeps (and does not end) what is hers.
    assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b' })).status, 200)
    const [hers] = await bankB.findGrants({ issuer: app.banks['bank-b'].issuer, sub: 'alice-b' })
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.equal((await bankB.grant(hers ?? '').get())?.status, 'active')
    assert.deepEqual(app.unexpectedErrors, [])
  })

  test('session fixation, no identity server named: each server is its own, so a login as another identity keeps no other grant', async (t) => {
    const app = await startTwoBanks(t, { clients: {} })
    assert.equal((await linkBank(app, 'bank-b', { sub: 'mallory-b' })).status, 200)
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'alice' })
  })

  test('linking to the owner: a login at another bank records the owner; with no owner yet it is refused ERR_LOGIN_OWNER_MISSING and its tokens revoked', async (t) => {
    const app = await startTwoBanks(t)
    // The owner (bank A's login) goes while the user is at bank B: the callback checks again.
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    const started = await app.browser.request('/auth/login?server=bank-b')
    assert.equal(started.status, 303, 'an owner when the login starts')
    assert.deepEqual(
      await (await app.browser.request('/unlink/bank-a', { method: 'POST' })).json(),
      {
        outcome: 'revoked',
      },
    )
    app.banks['bank-b'].idToken = { claims: (c) => ({ ...c, sub: 'alice-b' }) }
    const delivery = await app.banks['bank-b'].authorize(started.headers.get('location') ?? '')
    const refused = await app.browser.deliver(delivery)
    assert.equal(refused.status, 403)
    assert.match(await refused.text(), /ERR_LOGIN_OWNER_MISSING/)
    assert.deepEqual(await logins(app), {})
    assert.ok(app.banks['bank-b'].revocationRequests().length >= 1, 'what bank B issued is revoked')
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b' })).status, 200)
    const owner = JSON.stringify([app.banks['bank-a'].issuer, 'alice'])
    const [linked] = await app.clients.client('bank-b').findGrants({ owner })
    assert.ok(linked !== undefined, "bank B's grant records bank A's identity as its owner")
    assert.equal((await app.clients.client('bank-b').grant(linked).get())?.sub, 'alice-b')
  })

  test('linking to the owner, checked when the login starts: with no owner yet /auth/login is refused ERR_LOGIN_OWNER_MISSING before any pushed request', async (t) => {
    const app = await startTwoBanks(t)
    const bankB = app.banks['bank-b']
    const refused = await app.browser.request('/auth/login?server=bank-b')
    assert.equal(refused.status, 403)
    assert.equal(((await refused.json()) as { error: string }).error, 'ERR_LOGIN_OWNER_MISSING')
    assert.equal(bankB.requests('/par'), 0, 'the user is not sent to bank B for nothing')
    assert.equal(bankB.requests('/token'), 0)
    // The identity server needs no owner; once logged in there, bank B may start.
    assert.equal((await app.browser.request('/auth/login?server=bank-a')).status, 303)
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.equal((await app.browser.request('/auth/login?server=bank-b')).status, 303)
    assert.equal(bankB.requests('/par'), 1)
  })

  test('principal(req), checked when the login starts: with no app user /auth/login is refused ERR_LOGIN_OWNER_MISSING before any pushed request', async (t) => {
    const principal = (req: IncomingMessage) =>
      /(?:^|;\s*)app_user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
    const app = await startTwoBanks(t, { clients: { principal } })
    for (const bank of ['bank-a', 'bank-b'] as const) {
      const refused = await app.browser.request(`/auth/login?server=${bank}`)
      assert.equal(refused.status, 403)
      assert.equal(((await refused.json()) as { error: string }).error, 'ERR_LOGIN_OWNER_MISSING')
      assert.equal(app.banks[bank].requests('/par'), 0)
    }
    await app.browser.request('/app-login/u1', { method: 'POST' })
    assert.equal((await app.browser.request('/auth/login?server=bank-b')).status, 303)
    assert.equal(app.banks['bank-b'].requests('/par'), 1)
  })

  test("principal(req): logins link to the app's own user; another user's login keeps no grant of the first; no user is ERR_LOGIN_OWNER_MISSING", async (t) => {
    const principal = (req: IncomingMessage) =>
      /(?:^|;\s*)app_user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
    const app = await startTwoBanks(t, { clients: { principal } })
    const refused = await app.browser.request('/auth/login?server=bank-a')
    assert.equal(refused.status, 403)
    assert.match(await refused.text(), /ERR_LOGIN_OWNER_MISSING/)
    await app.browser.request('/app-login/u1', { method: 'POST' })
    assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b' })).status, 200)
    assert.equal((await linkBank(app, 'bank-a', { sub: 'alice' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'alice', 'bank-b': 'alice-b' })
    assert.equal((await app.clients.client('bank-b').findGrants({ owner: 'u1' })).length, 1)
    // Another app user in the same browser session: u1's grants are not hers.
    await app.browser.request('/app-login/u2', { method: 'POST' })
    assert.equal((await linkBank(app, 'bank-a', { sub: 'bob' })).status, 200)
    assert.deepEqual(await logins(app), { 'bank-a': 'bob' })
  })
})
