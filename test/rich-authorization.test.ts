/**
 * Rich authorization requests (RFC 9396) per login, and OIDC `claims` requests with an intent id
 * (OIDC Core §5.5.1): sent inside the request object, types checked against the server's list,
 * the grant checked against what was asked (`grantedAuthorizationDetails`), kept with the login.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FapiClientOptions } from '../src/index.js'
import { startFapi2Login } from './support/fapi2-fixture.js'
import {
  expectError,
  expectLogin,
  expectRejectedAfterTransaction,
  login,
  setup,
} from './support/hostile-fixture.js'

const PAYMENT = [
  {
    type: 'payment_initiation',
    consentId: 'consent-42',
    instructedAmount: { currency: 'EUR', amount: '10.00' },
  },
]

function asking(extra: Partial<FapiClientOptions> = {}): { client: Partial<FapiClientOptions> } {
  return { client: { authorizationParams: { authorization_details: PAYMENT }, ...extra } }
}

function granting(details: unknown) {
  return (reply: { status: number; body?: unknown }) => ({
    ...reply,
    body: { ...(reply.body as object), authorization_details: details },
  })
}

describe('RFC 9396, oidc-provider', () => {
  test('RFC 9396 §3, §7, oidc-provider: authorization_details are authorized and the grant kept with the login', async (t) => {
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      server: { rarTypes: ['payment_initiation'] },
      client: { authorizationParams: { authorization_details: PAYMENT } },
    })
    const landed = await fx.browser.deliver(await fx.authorize())
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.deepEqual(fx.app.logins[0]?.authorizationDetails, PAYMENT)
    const stored = (await (await fx.browser.request('/stored')).json()) as {
      authorizationDetails?: unknown
    }
    assert.deepEqual(stored.authorizationDetails, PAYMENT)
  })
})

describe('RFC 9396, hostile server', () => {
  test('RFC 9396 §3: authorization_details travel inside the request object (pushed)', async (t) => {
    const fx = await setup(t, asking())
    await expectLogin(fx, await login(fx))
    assert.deepEqual(fx.as.lastPushed().requestObject?.payload.authorization_details, PAYMENT)
    assert.deepEqual(fx.app.logins[0]?.authorizationDetails, PAYMENT)
  })

  test('RFC 9396 §7: granted details that differ from the request are ERR_AUTHORIZATION_DETAILS_NOT_GRANTED, no session', async (t) => {
    const fx = await setup(t, asking())
    fx.as.token = granting([
      { ...PAYMENT[0], instructedAmount: { currency: 'EUR', amount: '1000.00' } },
    ])
    await expectRejectedAfterTransaction(
      fx,
      await login(fx),
      403,
      'ERR_AUTHORIZATION_DETAILS_NOT_GRANTED',
    )
  })

  test('RFC 9396 §7: no granted details where some were asked for is ERR_AUTHORIZATION_DETAILS_NOT_GRANTED', async (t) => {
    const fx = await setup(t, asking())
    fx.as.token = (reply) => {
      const body = { ...(reply.body as Record<string, unknown>) }
      delete body.authorization_details
      return { ...reply, body }
    }
    await expectRejectedAfterTransaction(
      fx,
      await login(fx),
      403,
      'ERR_AUTHORIZATION_DETAILS_NOT_GRANTED',
    )
  })

  test('RFC 9396 §7: granted details equal up to member order are accepted', async (t) => {
    const fx = await setup(t, asking())
    const [detail] = PAYMENT
    fx.as.token = granting([
      {
        instructedAmount: { amount: '10.00', currency: 'EUR' },
        consentId: detail?.consentId,
        type: detail?.type,
      },
    ])
    await expectLogin(fx, await login(fx))
  })

  test('RFC 9396 §7: a grantedAuthorizationDetails predicate decides, and "any" accepts what was granted', async (t) => {
    const narrowed = [{ type: 'payment_initiation', consentId: 'consent-42' }]
    const fx = await setup(
      t,
      asking({
        grantedAuthorizationDetails: (granted) => granted?.[0]?.consentId === 'consent-42',
      }),
    )
    fx.as.token = granting(narrowed)
    await expectLogin(fx, await login(fx))
    assert.deepEqual(fx.app.logins[0]?.authorizationDetails, narrowed)
    const other = await setup(
      t,
      asking({ grantedAuthorizationDetails: (granted) => granted === undefined }),
    )
    other.as.token = granting(narrowed)
    await expectRejectedAfterTransaction(
      other,
      await login(other),
      403,
      'ERR_AUTHORIZATION_DETAILS_NOT_GRANTED',
    )
    const any = await setup(t, asking({ grantedAuthorizationDetails: 'any' }))
    any.as.token = granting(narrowed)
    await expectLogin(any, await login(any))
  })

  test('RFC 9396 §10: a login with a type the server does not list is ERR_AUTHORIZATION_DETAILS_TYPE_UNSUPPORTED, nothing pushed', async (t) => {
    const fx = await setup(t, {
      client: { authorizationParams: { authorization_details: [{ type: 'crypto_transfer' }] } },
    })
    await expectError(
      await fx.browser.request('/auth/login'),
      500,
      'ERR_AUTHORIZATION_DETAILS_TYPE_UNSUPPORTED',
    )
    assert.equal(fx.as.requests('/par'), 0)
  })

  test('RFC 9396 §2: a login with malformed authorization_details is ERR_AUTHORIZATION_DETAILS_INVALID, nothing pushed', async (t) => {
    const fx = await setup(t, {
      client: { authorizationParams: { authorization_details: [{ consentId: 'x' }] } },
    })
    await expectError(
      await fx.browser.request('/auth/login'),
      500,
      'ERR_AUTHORIZATION_DETAILS_INVALID',
    )
    assert.equal(fx.as.requests('/par'), 0)
  })
})

describe('OIDC Core §5.5.1: an intent id requested as an essential ID token claim', () => {
  const intent = {
    client: {
      authorizationParams: {
        claims: { id_token: { openbanking_intent_id: { essential: true, value: 'intent-7' } } },
      },
    },
  }

  test('OIDC Core §5.5.1: an ID token with another intent id is ERR_ID_TOKEN_CLAIM_VALUE_MISMATCH, no session', async (t) => {
    const fx = await setup(t, intent)
    fx.as.idToken = { claims: (claims) => ({ ...claims, openbanking_intent_id: 'intent-8' }) }
    await expectRejectedAfterTransaction(
      fx,
      await login(fx),
      502,
      'ERR_ID_TOKEN_CLAIM_VALUE_MISMATCH',
    )
  })

  test('OIDC Core §5.5.1: an ID token without the intent id is ERR_ID_TOKEN_CLAIM_VALUE_MISMATCH', async (t) => {
    const fx = await setup(t, intent)
    await expectRejectedAfterTransaction(
      fx,
      await login(fx),
      502,
      'ERR_ID_TOKEN_CLAIM_VALUE_MISMATCH',
    )
  })

  test('OIDC Core §5.5.1: an ID token with the intent id asked for is accepted', async (t) => {
    const fx = await setup(t, intent)
    fx.as.idToken = { claims: (claims) => ({ ...claims, openbanking_intent_id: 'intent-7' }) }
    await expectLogin(fx, await login(fx))
    assert.equal(fx.app.logins[0]?.claims.openbanking_intent_id, 'intent-7')
  })
})
