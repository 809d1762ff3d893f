/**
 * Several authorization servers in one app (`fapiClients()`) and the mix-up defence (RFC 9700
 * §4.4): two real oidc-provider banks linked in one session through one callback, and the
 * hostile server as the attacker's server: the classic mix-up (the attacker's authorization
 * endpoint forwards the user to the honest server), a response signed by the attacker's keys for
 * a login at an honest bank, a response carrying the attacker's `iss`. Each is rejected with
 * `ERR_MIX_UP_DETECTED` before any token request.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { fapiClients, FapiConfigError } from '../src/index.js'
import { startBanks, type Banks } from './support/banks.js'
import { expectError } from './support/hostile-fixture.js'
import { generateJwks } from './support/keys.js'

async function logins(banks: Banks): Promise<Record<string, string>> {
  return (await (await banks.browser.request('/logins')).json()) as Record<string, string>
}

function tokenRequests(banks: Banks): number {
  return (
    banks.bankA.requests('main', '/token') +
    banks.bankB.requests('main', '/token') +
    banks.evil.requests('/token')
  )
}

/** A JARM response minted by the attacker's server (its key), with the claims given. */
async function attackerResponse(banks: Banks, claims: Record<string, unknown>): Promise<string> {
  const key = banks.evil.key('PS256')
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ code: 'attacker-code', exp: now + 300, iat: now, ...claims })
    .setProtectedHeader({ alg: 'PS256', kid: key.kid })
    .sign(key.privateKey)
}

describe('several authorization servers, RFC 9700 §4.4', () => {
  test('RFC 9700 §4.4, oidc-provider: two banks linked in one session, each login completed with its own server', async (t) => {
    const banks = await startBanks(t)
    const a = await banks.agent.authorize(await banks.browser.startLogin('?server=bank-a'), {
      redirectUri: banks.redirectUri,
    })
    const landedA = await banks.browser.deliver(a)
    assert.equal(landedA.status, 303, await landedA.clone().text())
    const b = await banks.agent.authorize(await banks.browser.startLogin('?server=bank-b'), {
      redirectUri: banks.redirectUri,
    })
    const landedB = await banks.browser.deliver(b)
    assert.equal(landedB.status, 303, await landedB.clone().text())
    assert.deepEqual(await logins(banks), { 'bank-a': 'alice', 'bank-b': 'alice' })
    assert.equal(banks.bankA.requests('main', '/token'), 1)
    assert.equal(banks.bankB.requests('main', '/token'), 1)
    assert.deepEqual(banks.unexpectedErrors, [])
  })

  test('RFC 9700 §4.4 (classic mix-up): the attacker forwards the user to the honest server; its response for the attacker login is ERR_MIX_UP_DETECTED, no token request', async (t) => {
    const banks = await startBanks(t)
    // The user is signed in at the identity bank (a link to another bank needs an owner)…
    const signIn = await banks.agent.authorize(await banks.browser.startLogin('?server=bank-a'), {
      redirectUri: banks.redirectUri,
    })
    assert.equal((await banks.browser.deliver(signIn)).status, 303)
    const before = tokenRequests(banks)
    // …then picks the attacker's server; its authorization endpoint sees the pushed request…
    const evilUrl = await banks.browser.startLogin('?server=evil')
    await banks.evil.authorize(evilUrl)
    const { state, nonce, code_challenge } = banks.evil.lastPushed().requestObject?.payload ?? {}
    // …and forwards the user to the honest bank with the client's id there and the same state.
    const honest = new URL(`${banks.bankA.issuer}/auth`)
    for (const [name, value] of Object.entries({
      client_id: 'agg-a',
      redirect_uri: banks.redirectUri,
      response_type: 'code',
      response_mode: 'jwt',
      scope: 'openid',
      state: String(state),
      nonce: String(nonce),
      code_challenge: String(code_challenge),
      code_challenge_method: 'S256',
    })) {
      honest.searchParams.set(name, value)
    }
    const delivery = await banks.agent.authorize(honest.href, { redirectUri: banks.redirectUri })
    await expectError(await banks.browser.deliver(delivery), 400, 'ERR_MIX_UP_DETECTED')
    assert.equal(tokenRequests(banks), before, 'the honest code never reaches the attacker')
    assert.deepEqual(await logins(banks), { 'bank-a': 'alice' })
    assert.deepEqual(banks.unexpectedErrors, [])
  })

  test("RFC 9700 §4.4: a response for a bank-a login signed by the attacker server's keys is ERR_MIX_UP_DETECTED; the real response still completes", async (t) => {
    const banks = await startBanks(t)
    const url = await banks.browser.startLogin('?server=bank-a')
    const state = new URL(url).searchParams.get('state')
    const forged = await attackerResponse(banks, { iss: banks.bankA.issuer, aud: 'agg-a', state })
    const answer = await banks.browser.request(`/auth/callback?response=${forged}`)
    await expectError(answer, 400, 'ERR_MIX_UP_DETECTED')
    assert.equal(tokenRequests(banks), 0)
    const real = await banks.agent.authorize(url, { redirectUri: banks.redirectUri })
    assert.equal((await banks.browser.deliver(real)).status, 303, 'the pending login was kept')
    assert.deepEqual(await logins(banks), { 'bank-a': 'alice' })
  })

  test("RFC 9700 §4.4: a response for a bank-a login carrying the attacker server's iss is ERR_MIX_UP_DETECTED", async (t) => {
    const banks = await startBanks(t)
    const url = await banks.browser.startLogin('?server=bank-a')
    const state = new URL(url).searchParams.get('state')
    const forged = await attackerResponse(banks, { iss: banks.evil.issuer, aud: 'agg-evil', state })
    await expectError(
      await banks.browser.request(`/auth/callback?response=${forged}`),
      400,
      'ERR_MIX_UP_DETECTED',
    )
    assert.equal(tokenRequests(banks), 0)
    assert.deepEqual(await logins(banks), {})
  })

  test('RFC 9700 §4.4: a login that names no configured server is ERR_SERVER_UNKNOWN', async (t) => {
    const banks = await startBanks(t)
    await expectError(
      await banks.browser.request('/auth/login?server=nope'),
      400,
      'ERR_SERVER_UNKNOWN',
    )
    await expectError(await banks.browser.request('/auth/login'), 400, 'ERR_SERVER_UNKNOWN')
  })

  test('RFC 9700 §4.4: fapiClients() refuses two servers with one issuer at startup', async () => {
    const { privateJwk } = await generateJwks('ES256', 'dup')
    const options = {
      issuer: 'https://as.example.test',
      clientId: 'agg',
      redirectUri: 'https://app.example.test/auth/callback',
      keys: { signing: [privateJwk] },
    }
    assert.throws(
      () => fapiClients({ a: options, b: { ...options, clientId: 'agg-2' } }),
      (error: unknown) => error instanceof FapiConfigError && /one issuer/.test(error.message),
    )
  })
})
