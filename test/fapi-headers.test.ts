/**
 * The FAPI headers of resource calls (FAPI 1.0 Part 1 §6.2.2): `x-fapi-interaction-id` on every
 * call (a new UUID unless the app gives one) and its echo checked; `x-fapi-auth-date` and
 * `x-fapi-customer-ip-address` on request, from the login and the request; in `fetchResource()`
 * and `fetchAsClient()`.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isFapiError } from '../src/index.js'
import { expectError, expectLogin, login, setup, type Fixture } from './support/hostile-fixture.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function call(fx: Fixture, init?: object): Promise<Response> {
  const query = new URLSearchParams({
    url: `${fx.as.issuer}/userinfo`,
    ...(init ? { init: JSON.stringify(init) } : {}),
  })
  return fx.browser.request(`/resource?${query}`)
}

async function loggedIn(t: Parameters<typeof setup>[0]): Promise<Fixture> {
  const fx = await setup(t)
  await expectLogin(fx, await login(fx))
  return fx
}

describe('FAPI 1.0 Part 1 §6.2.2 headers', () => {
  test('FAPI 1.0 Part 1 §6.2.2: every resource call carries a new UUID x-fapi-interaction-id', async (t) => {
    const fx = await loggedIn(t)
    assert.equal((await call(fx)).status, 200)
    assert.equal((await call(fx)).status, 200)
    const [first, second] = fx.as.resourceRequests().map((h) => h['x-fapi-interaction-id'])
    assert.match(String(first), UUID)
    assert.match(String(second), UUID)
    assert.notEqual(first, second)
    assert.equal(fx.as.resourceRequests()[0]?.['x-fapi-auth-date'], undefined, 'only on request')
  })

  test('FAPI 1.0 Part 1 §6.2.2: an interaction id given by the app is sent as it is', async (t) => {
    const fx = await loggedIn(t)
    const id = '3f1c2a8e-55b4-4c57-9d1e-0a2b3c4d5e6f'
    assert.equal((await call(fx, { headers: { 'x-fapi-interaction-id': id } })).status, 200)
    assert.equal(fx.as.resourceRequests()[0]?.['x-fapi-interaction-id'], id)
  })

  test('FAPI 1.0 Part 1 §6.2.1 (11): an echoed x-fapi-interaction-id that differs is ERR_RESOURCE_INTERACTION_ID_MISMATCH', async (t) => {
    const fx = await loggedIn(t)
    fx.as.fault('/userinfo', (reply) => ({
      ...reply,
      headers: {
        ...reply.headers,
        'x-fapi-interaction-id': '00000000-0000-4000-8000-000000000000',
      },
    }))
    await expectError(await call(fx), 502, 'ERR_RESOURCE_INTERACTION_ID_MISMATCH')
  })

  test('FAPI 1.0 Part 1 §6.2.2: x-fapi-auth-date is the login time as an HTTP-date, x-fapi-customer-ip-address the request address', async (t) => {
    const fx = await loggedIn(t)
    assert.equal((await call(fx, { fapiAuthDate: true, fapiCustomerIpAddress: true })).status, 200)
    const headers = fx.as.resourceRequests()[0]
    const date = String(headers?.['x-fapi-auth-date'])
    assert.match(date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
    const stored = (await (await fx.browser.request('/stored')).json()) as {
      claims: { auth_time: number }
    }
    assert.equal(Date.parse(date), stored.claims.auth_time * 1000)
    assert.equal(headers?.['x-fapi-customer-ip-address'], '127.0.0.1')
  })

  const refused: readonly [string, object][] = [
    [
      'FAPI 1.0 Part 1 §6.2.2: an interaction id that is not a UUID is ERR_RESOURCE_REQUEST_INVALID, no call',
      { headers: { 'x-fapi-interaction-id': 'abc' } },
    ],
    [
      'FAPI 1.0 Part 1 §6.2.2: an auth date that is not an HTTP-date is ERR_RESOURCE_REQUEST_INVALID, no call',
      { headers: { 'x-fapi-auth-date': '2024-01-01' } },
    ],
    [
      'FAPI 1.0 Part 1 §6.2.2: a customer address that is not an IP is ERR_RESOURCE_REQUEST_INVALID, no call',
      { fapiCustomerIpAddress: 'localhost' },
    ],
  ]
  for (const [name, init] of refused) {
    test(name, async (t) => {
      const fx = await loggedIn(t)
      await expectError(await call(fx, init), 500, 'ERR_RESOURCE_REQUEST_INVALID')
      assert.equal(fx.as.requests('/userinfo'), 0)
    })
  }

  test('FAPI 1.0 Part 1 §6.2.2: fetchAsClient sends an interaction id and a given customer address, and checks the echo', async (t) => {
    const fx = await setup(t)
    const answer = await fx.app.client.fetchAsClient(`${fx.as.issuer}/userinfo`, {
      fapiCustomerIpAddress: '2001:db8::1',
    })
    assert.equal(answer.status, 200)
    const headers = fx.as.resourceRequests()[0]
    assert.match(String(headers?.['x-fapi-interaction-id']), UUID)
    assert.equal(headers?.['x-fapi-customer-ip-address'], '2001:db8::1')
    fx.as.fault('/userinfo', (reply) => ({
      ...reply,
      headers: {
        ...reply.headers,
        'x-fapi-interaction-id': '00000000-0000-4000-8000-000000000000',
      },
    }))
    await assert.rejects(
      fx.app.client.fetchAsClient(`${fx.as.issuer}/userinfo`),
      (error: unknown) =>
        isFapiError(error) && error.code === 'ERR_RESOURCE_INTERACTION_ID_MISMATCH',
    )
  })
})
