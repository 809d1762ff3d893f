/**
 * The client credentials grant (RFC 6749 §4.4): `clientCredentials()` and `fetchAsClient()`, with
 * the logins' client authentication and sender constraint, against the real oidc-provider (DPoP,
 * mTLS) and the hostile server (binding at the resource, cache, single flight, refusals).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isFapiError } from '../src/index.js'
import { startFapi2Login } from './support/fapi2-fixture.js'
import { setup } from './support/hostile-fixture.js'

async function rejection(promise: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await promise
  } catch (error) {
    assert.ok(isFapiError(error), String(error))
    return { code: error.code, status: error.status }
  }
  assert.fail('expected a rejection')
}

describe('client credentials, oidc-provider', () => {
  test('RFC 6749 §4.4, RFC 9449 §5: a DPoP-bound client token with private_key_jwt, cached', async (t) => {
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      server: { clientCredentials: true },
    })
    const { client } = fx.app
    const token = await client.clientCredentials()
    assert.equal(token.tokenType, 'DPoP')
    assert.ok(token.accessToken.length > 10)
    assert.ok(typeof token.expiresAt === 'number')
    assert.equal(fx.as.requests('main', '/token'), 1)
    const again = await client.clientCredentials()
    assert.equal(again.accessToken, token.accessToken, 'cached until shortly before expiry')
    assert.equal(fx.as.requests('main', '/token'), 1)
  })

  test('RFC 6749 §4.4, RFC 8705 §2, §3: mTLS client authentication at the token alias, certificate-bound', async (t) => {
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'mtls',
      clientAuthMethod: 'tls_client_auth',
      server: { clientCredentials: true },
    })
    const token = await fx.app.client.clientCredentials()
    assert.equal(token.tokenType, 'Bearer')
    assert.equal(fx.as.requests('mtls', '/token'), 1)
    assert.equal(fx.as.requests('main', '/token'), 0)
  })

  test('RFC 9396 §6, §7: authorization_details in the client credentials request come back granted', async (t) => {
    const fx = await startFapi2Login(t, {
      profile: 'fapi2-security',
      senderConstraint: 'dpop',
      server: { clientCredentials: true, rarTypes: ['payment_initiation'] },
    })
    const details = [{ type: 'payment_initiation', instructedAmount: { amount: '10.00' } }]
    const token = await fx.app.client.clientCredentials({ authorizationDetails: details })
    assert.deepEqual(token.authorizationDetails, details)
  })
})

describe('client credentials, hostile server', () => {
  test('RFC 6749 §4.4, RFC 9449 §7: fetchAsClient sends the DPoP-bound client token with a proof (ath)', async (t) => {
    const fx = await setup(t, { client: { senderConstraint: 'dpop' } })
    const answer = await fx.app.client.fetchAsClient(`${fx.as.issuer}/userinfo`)
    assert.equal(answer.status, 200, await answer.clone().text())
    assert.deepEqual(fx.as.violations(), [])
    assert.equal(
      fx.as.bindings.proofs.filter((p) => p.path === '/userinfo').length,
      1,
      'a DPoP proof at the resource',
    )
    const form = fx.as.tokenRequests()[0]
    assert.equal(form?.get('grant_type'), 'client_credentials')
    assert.equal(
      form?.get('client_assertion_type'),
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    )
  })

  test('RFC 6749 §4.4: one token request in flight per parameter set, one per set', async (t) => {
    const fx = await setup(t)
    const { client } = fx.app
    const tokens = await Promise.all([
      client.clientCredentials({ scope: 'payments' }),
      client.clientCredentials({ scope: 'payments' }),
      client.clientCredentials({ scope: 'payments' }),
      client.clientCredentials({ scope: 'accounts' }),
    ])
    assert.equal(fx.as.requests('/token'), 2)
    assert.equal(tokens[0]?.accessToken, tokens[2]?.accessToken)
    assert.notEqual(tokens[0]?.accessToken, tokens[3]?.accessToken)
    assert.equal(tokens[3]?.scope, 'accounts')
  })

  test('RFC 6749 §4.4: a token that expires soon is not kept; the next call asks again', async (t) => {
    const fx = await setup(t)
    fx.as.token = (reply) => ({ ...reply, body: { ...(reply.body as object), expires_in: 20 } })
    const { client } = fx.app
    const first = await client.clientCredentials()
    const second = await client.clientCredentials()
    // 20 s: kept for half its lifetime at most, so still cached now.
    assert.equal(first.accessToken, second.accessToken)
    fx.as.token = (reply) => ({ ...reply, body: { ...(reply.body as object), expires_in: 0 } })
    const third = await client.clientCredentials({ scope: 'x' })
    const fourth = await client.clientCredentials({ scope: 'x' })
    assert.notEqual(third.accessToken, fourth.accessToken, 'an expired token is never reused')
  })

  test('RFC 9449 §5: a Bearer client token where DPoP was asked for is ERR_TOKEN_NOT_SENDER_CONSTRAINED', async (t) => {
    const fx = await setup(t, { client: { senderConstraint: 'dpop' } })
    fx.as.token = (reply) => ({
      ...reply,
      body: { ...(reply.body as object), token_type: 'Bearer' },
    })
    assert.deepEqual(await rejection(fx.app.client.clientCredentials()), {
      code: 'ERR_TOKEN_NOT_SENDER_CONSTRAINED',
      status: 502,
    })
    assert.equal(fx.as.requests('/userinfo'), 0)
  })

  test('RFC 9396 §10: a type the server does not list is ERR_AUTHORIZATION_DETAILS_TYPE_UNSUPPORTED, no request', async (t) => {
    const fx = await setup(t)
    const request = { authorizationDetails: [{ type: 'crypto_transfer' }] }
    assert.deepEqual(await rejection(fx.app.client.clientCredentials(request)), {
      code: 'ERR_AUTHORIZATION_DETAILS_TYPE_UNSUPPORTED',
      status: 500,
    })
    assert.equal(fx.as.requests('/token'), 0)
  })

  test('RFC 9396 §2: details that are not objects with a string type are ERR_AUTHORIZATION_DETAILS_INVALID', async (t) => {
    const fx = await setup(t)
    for (const authorizationDetails of [[{ kind: 'x' }], {}, [], [{ type: 7 }]]) {
      assert.deepEqual(
        await rejection(fx.app.client.clientCredentials({ authorizationDetails } as never)),
        { code: 'ERR_AUTHORIZATION_DETAILS_INVALID', status: 500 },
      )
    }
    assert.deepEqual(await rejection(fx.app.client.clientCredentials({ audience: 'x' } as never)), {
      code: 'ERR_CLIENT_CREDENTIALS_REQUEST_INVALID',
      status: 500,
    })
    assert.equal(fx.as.requests('/token'), 0)
  })

  test('RFC 8705 §2, §3: under mTLS the client token goes to the alias and is used with the certificate', async (t) => {
    const fx = await setup(t, {
      tls: 'client',
      client: {
        clientAuthMethod: 'tls_client_auth',
        senderConstraint: 'mtls',
        profile: 'fapi2-security',
      },
    })
    const answer = await fx.app.client.fetchAsClient(`${fx.as.issuer}/userinfo`)
    assert.equal(answer.status, 200, await answer.clone().text())
    assert.deepEqual(fx.as.violations(), [])
  })
})
