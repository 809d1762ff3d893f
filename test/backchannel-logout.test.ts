/**
 * OpenID Connect Back-Channel Logout 1.0 against hostile servers (their own keys): a valid logout
 * token ends the grants it names (by `sid`, by `sub`) and the browser is logged out at its next
 * request; every rule of §2.6 refuses a token that breaks it (400 with a code, nothing ended); a
 * `jti` is accepted once; an ID token is never a logout token (§4.1).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FapiErrorCode } from '../src/index.js'
import { without, type JwtMutation } from './support/hostile-jwt.js'
import { LOGOUT_EVENT, logoutToken } from './support/hostile-logout.js'
import { linkBank, logins, startTwoBanks, type TwoBanks } from './support/two-banks.js'

async function deliver(app: TwoBanks, body: URLSearchParams | string): Promise<Response> {
  return fetch(`${app.origin}/auth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  })
}

async function linked(t: Parameters<typeof startTwoBanks>[0]): Promise<TwoBanks> {
  const app = await startTwoBanks(t)
  assert.equal((await linkBank(app, 'bank-a', { sub: 'alice', sid: 'sid-a1' })).status, 200)
  assert.equal((await linkBank(app, 'bank-b', { sub: 'alice-b', sid: 'sid-b1' })).status, 200)
  return app
}

async function expectRefused(app: TwoBanks, answer: Response, code: FapiErrorCode): Promise<void> {
  const text = await answer.text()
  assert.equal(answer.status, 400, text)
  assert.equal((JSON.parse(text) as { error: string }).error, code)
  assert.equal(answer.headers.get('cache-control'), 'no-store')
  assert.deepEqual(await logins(app), { 'bank-a': 'alice', 'bank-b': 'alice-b' }, 'nothing ended')
}

describe('Back-Channel Logout 1.0: a valid logout token ends the grants it names', () => {
  test('Back-Channel Logout §2.6, §2.7: by sid: that grant ends (revoked), the browser is logged out of that bank at its next request', async (t) => {
    const app = await linked(t)
    const bankA = app.banks['bank-a']
    const token = await logoutToken(bankA, 'portal', { sid: 'sid-a1' })
    const answer = await deliver(app, new URLSearchParams({ logout_token: token }))
    assert.equal(answer.status, 200, await answer.clone().text())
    assert.equal(answer.headers.get('cache-control'), 'no-store')
    assert.deepEqual(await logins(app), { 'bank-b': 'alice-b' }, "bank B's grant is another")
    assert.equal(bankA.revocationRequests().length, 2)
  })

  test('Back-Channel Logout §2.6 (3): by sub only: every grant of that user at that server ends (every browser)', async (t) => {
    const app = await linked(t)
    const other = app.newBrowser()
    assert.equal(
      (await linkBank(app, 'bank-a', { sub: 'alice', sid: 'sid-a2' }, other)).status,
      200,
    )
    const token = await logoutToken(app.banks['bank-a'], 'portal', { sub: 'alice' })
    assert.equal((await deliver(app, new URLSearchParams({ logout_token: token }))).status, 200)
    assert.deepEqual(await logins(app), { 'bank-b': 'alice-b' })
    assert.deepEqual(await logins(app, other), {})
  })

  test('Back-Channel Logout §2.6 (6): a jti is accepted once; the replay is ERR_LOGOUT_TOKEN_REPLAYED', async (t) => {
    const app = await linked(t)
    const token = await logoutToken(app.banks['bank-a'], 'portal', { sid: 'unknown-sid' })
    assert.equal((await deliver(app, new URLSearchParams({ logout_token: token }))).status, 200)
    await expectRefused(
      app,
      await deliver(app, new URLSearchParams({ logout_token: token })),
      'ERR_LOGOUT_TOKEN_REPLAYED',
    )
  })

  test('Back-Channel Logout §4.1: the ID token of the login is not a logout token', async (t) => {
    const app = await linked(t)
    const bankA = app.clients.client('bank-a')
    const [id] = await bankA.findGrants({ issuer: app.banks['bank-a'].issuer, sid: 'sid-a1' })
    const grant = await bankA.grant(id ?? '').get()
    assert.ok(grant?.status === 'active')
    const answer = await deliver(app, new URLSearchParams({ logout_token: grant.tokens.idToken }))
    assert.equal(answer.status, 400)
    assert.deepEqual(await logins(app), { 'bank-a': 'alice', 'bank-b': 'alice-b' })
  })
})

/** One hostile token per rule of §2.6 (and §2.4, §2.5), each breaking that rule only. */
const HOSTILE: readonly {
  readonly rule: string
  readonly code: FapiErrorCode
  readonly mutation?: JwtMutation
  readonly header?: Record<string, unknown>
  readonly who?: { sid?: string; sub?: string }
}[] = [
  {
    rule: '§2.6 (1) alg none, unsigned (not a JWS)',
    code: 'ERR_LOGOUT_TOKEN_MALFORMED',
    mutation: { sign: 'none' },
  },
  {
    rule: '§2.6 (2) alg none with a signature',
    code: 'ERR_LOGOUT_TOKEN_ALG_NOT_ALLOWED',
    mutation: { sign: 'none-with-signature' },
  },
  {
    rule: '§2.6 (2) HS256 with a guessable secret',
    code: 'ERR_LOGOUT_TOKEN_ALG_NOT_ALLOWED',
    mutation: { sign: 'HS256' },
  },
  {
    rule: "§2.6 (2) another key with the server's kid",
    code: 'ERR_LOGOUT_TOKEN_SIGNATURE_INVALID',
    mutation: { sign: 'other-key' },
  },
  {
    rule: '§2.6 (2) an unknown kid',
    code: 'ERR_LOGOUT_TOKEN_KEY_NOT_FOUND',
    mutation: { sign: 'attacker' },
  },
  {
    rule: '§2.6 (2) another aud',
    code: 'ERR_LOGOUT_TOKEN_AUD_MISMATCH',
    mutation: { claims: (c) => ({ ...c, aud: 'someone-else' }) },
  },
  {
    rule: '§2.6 (2) exp in the past',
    code: 'ERR_LOGOUT_TOKEN_EXPIRED',
    mutation: { claims: (c) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 600 }) },
  },
  {
    rule: '§2.6 (2) iat in the future',
    code: 'ERR_LOGOUT_TOKEN_IAT_IN_FUTURE',
    mutation: { claims: (c) => ({ ...c, iat: Math.floor(Date.now() / 1000) + 600 }) },
  },
  {
    rule: '§2.4 no exp',
    code: 'ERR_LOGOUT_TOKEN_CLAIMS_INVALID',
    mutation: { claims: (c) => without(c, 'exp') },
  },
  {
    rule: '§2.4 no iat',
    code: 'ERR_LOGOUT_TOKEN_CLAIMS_INVALID',
    mutation: { claims: (c) => without(c, 'iat') },
  },
  {
    rule: '§2.4 no jti',
    code: 'ERR_LOGOUT_TOKEN_CLAIMS_INVALID',
    mutation: { claims: (c) => without(c, 'jti') },
  },
  {
    rule: '§2.4 explicit typing: typ JWT',
    code: 'ERR_LOGOUT_TOKEN_TYP_INVALID',
    header: { typ: 'JWT' },
  },
  { rule: '§2.6 (3) neither sid nor sub', code: 'ERR_LOGOUT_TOKEN_SUBJECT_MISSING', who: {} },
  {
    rule: '§2.6 (4) no events',
    code: 'ERR_LOGOUT_TOKEN_EVENTS_INVALID',
    mutation: { claims: (c) => without(c, 'events') },
  },
  {
    rule: '§2.6 (4) events without the logout member',
    code: 'ERR_LOGOUT_TOKEN_EVENTS_INVALID',
    mutation: { claims: (c) => ({ ...c, events: { 'urn:other': {} } }) },
  },
  {
    rule: '§2.6 (4) the logout member not an object',
    code: 'ERR_LOGOUT_TOKEN_EVENTS_INVALID',
    mutation: { claims: (c) => ({ ...c, events: { [LOGOUT_EVENT]: 'yes' } }) },
  },
  {
    rule: '§2.6 (5) a nonce',
    code: 'ERR_LOGOUT_TOKEN_NONCE_PRESENT',
    mutation: { claims: (c) => ({ ...c, nonce: 'n-1' }) },
  },
  {
    rule: '§2.6 (2) iss of no server of this app',
    code: 'ERR_LOGOUT_TOKEN_ISS_MISMATCH',
    mutation: { claims: (c) => ({ ...c, iss: 'https://evil.example' }) },
  },
  {
    rule: '§2.6 (1) not a compact JWS',
    code: 'ERR_LOGOUT_TOKEN_MALFORMED',
    mutation: { raw: () => 'not.a-jwt' },
  },
]

describe('Back-Channel Logout 1.0 §2.6: hostile logout tokens are refused, nothing ends', () => {
  for (const hostile of HOSTILE) {
    test(`Back-Channel Logout ${hostile.rule}: ${hostile.code}`, async (t) => {
      const app = await linked(t)
      const token = await logoutToken(
        app.banks['bank-a'],
        'portal',
        hostile.who ?? { sid: 'sid-a1' },
        hostile.mutation,
        hostile.header,
      )
      await expectRefused(
        app,
        await deliver(app, new URLSearchParams({ logout_token: token })),
        hostile.code,
      )
    })
  }

  test('Back-Channel Logout §2.5: no logout_token, or two, is ERR_LOGOUT_TOKEN_MISSING', async (t) => {
    const app = await linked(t)
    const token = await logoutToken(app.banks['bank-a'], 'portal', { sid: 'sid-a1' })
    await expectRefused(app, await deliver(app, ''), 'ERR_LOGOUT_TOKEN_MISSING')
    const twice = new URLSearchParams([
      ['logout_token', token],
      ['logout_token', token],
    ])
    await expectRefused(app, await deliver(app, twice), 'ERR_LOGOUT_TOKEN_MISSING')
  })
})
