/**
 * Hostile registration answers (RFC 7591 §3.2.1, RFC 7592 §3): what the server may not change
 * under the profile, a missing client_id, an incomplete management pair, and faults; plus what the
 * client sends (a signed application/jose request, the initial access token) and the software
 * statement function's failures.
 */
import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import {
  fapiRegistration,
  isFapiError,
  memoryRegistrations,
  type FapiRegistrationOptions,
} from '../src/index.js'
import { generateJwks, type KeyPairJwks } from './support/keys.js'
import {
  startHostileRegistration,
  type HostileRegistrationServer,
} from './support/hostile-registration.js'

const SSA = 'eyJhbGciOiJFUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImFwcCJ9.c2lnbmF0dXJl'

async function setup(t: TestContext): Promise<{
  as: HostileRegistrationServer
  key: KeyPairJwks
  client: FapiRegistrationOptions['client']
}> {
  const as = await startHostileRegistration()
  t.after(() => as.close())
  const key = await generateJwks('ES256', 'portal-es256')
  return {
    as,
    key,
    client: {
      issuer: as.issuer,
      redirectUri: 'http://127.0.0.1:9/auth/callback',
      keys: { signing: [key.privateJwk] },
      allowInsecureLoopback: true,
    },
  }
}

async function expectCode(promise: Promise<unknown>, code: string, pattern?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isFapiError(error), String(error))
    assert.equal(error.code, code, error.message)
    if (pattern !== undefined) assert.match(error.message, pattern)
    return true
  })
}

type Sent = Record<string, unknown> | undefined
const CASES: readonly [string, (sent: Sent) => Record<string, unknown>, string, RegExp][] = [
  [
    'RFC 7591 §3.2.1: an answer without client_id',
    (sent) => ({ ...sent, client_id: undefined }),
    'ERR_REGISTRATION_INVALID',
    /no "client_id"/,
  ],
  [
    'a weaker auth method (client_secret_basic) than asked',
    (sent) => ({ ...sent, client_id: 'c', token_endpoint_auth_method: 'client_secret_basic' }),
    'ERR_REGISTRATION_INVALID',
    /token_endpoint_auth_method "client_secret_basic"/,
  ],
  [
    'RFC 7591 §2: no auth method in the answer (client_secret_basic by default)',
    (sent) => ({ ...sent, client_id: 'c', token_endpoint_auth_method: undefined }),
    'ERR_REGISTRATION_INVALID',
    /token_endpoint_auth_method/,
  ],
  [
    'an ID token alg the profile does not allow (RS256)',
    (sent) => ({ ...sent, client_id: 'c', id_token_signed_response_alg: 'RS256' }),
    'ERR_REGISTRATION_INVALID',
    /id_token_signed_response_alg "RS256"/,
  ],
  [
    'a client assertion alg the profile does not allow (HS256)',
    (sent) => ({ ...sent, client_id: 'c', token_endpoint_auth_signing_alg: 'HS256' }),
    'ERR_REGISTRATION_INVALID',
    /token_endpoint_auth_signing_alg/,
  ],
  [
    'the DPoP binding dropped',
    (sent) => ({ ...sent, client_id: 'c', dpop_bound_access_tokens: false }),
    'ERR_REGISTRATION_INVALID',
    /dpop_bound_access_tokens/,
  ],
  [
    'the redirect URI replaced',
    (sent) => ({ ...sent, client_id: 'c', redirect_uris: ['https://attacker.example/cb'] }),
    'ERR_REGISTRATION_INVALID',
    /redirect_uris/,
  ],
  [
    'RFC 7592 §3: a registration access token without registration_client_uri',
    (sent) => ({ ...sent, client_id: 'c', registration_access_token: 'rat' }),
    'ERR_REGISTRATION_INVALID',
    /come together/,
  ],
  [
    'a registration_client_uri that is not https',
    (sent) => ({
      ...sent,
      client_id: 'c',
      registration_access_token: 'rat',
      registration_client_uri: 'http://bank.example/register/c',
    }),
    'ERR_REGISTRATION_INVALID',
    /not an https URL/,
  ],
]

describe('hostile registration answers', () => {
  for (const [name, body, code, pattern] of CASES) {
    test(`${name} is ${code}, and nothing is stored`, async (t) => {
      const { as, client } = await setup(t)
      as.reply = (sent) => ({ status: 201, body: body(sent) })
      const store = memoryRegistrations()
      await expectCode(fapiRegistration({ client, store }).ensure(), code, pattern)
      assert.equal(await store.get(as.issuer), undefined)
    })
  }

  test('RFC 7591 §3.2.2: an OAuth error answer is ERR_REGISTRATION_REJECTED with the error', async (t) => {
    const { as, client } = await setup(t)
    as.reply = () => ({ status: 400, body: { error: 'invalid_redirect_uri' } })
    await expectCode(
      fapiRegistration({ client }).ensure(),
      'ERR_REGISTRATION_REJECTED',
      /invalid_redirect_uri/,
    )
  })

  test('without JARM, the client still asks for an authorization_signed_response_alg its profile allows, and an answer with another changes nothing it does', async (t) => {
    const { as, client } = await setup(t)
    const plain = { ...client, profile: 'fapi2-security' as const }
    as.reply = (sent) => ({
      status: 201,
      body: { ...sent, client_id: 'c', authorization_signed_response_alg: 'RS256' },
    })
    const registration = await fapiRegistration({ client: plain }).ensure()
    const sent = JSON.parse(as.seen[0]?.body ?? '{}') as Record<string, unknown>
    assert.equal(sent.authorization_signed_response_alg, 'PS256', 'asked for all the same')
    assert.equal(registration.metadata.authorization_signed_response_alg, 'RS256')
  })

  test('a 500 is ERR_AS_HTTP_STATUS; a 201 that is not JSON is ERR_AS_INVALID_JSON', async (t) => {
    const { as, client } = await setup(t)
    as.reply = () => ({ status: 500, raw: 'oops' })
    await expectCode(fapiRegistration({ client }).ensure(), 'ERR_AS_HTTP_STATUS')
    as.reply = () => ({ status: 201, raw: '<html>' })
    await expectCode(fapiRegistration({ client }).ensure(), 'ERR_AS_INVALID_JSON')
  })

  test('a faithful answer is stored with its registration access token', async (t) => {
    const { as, client } = await setup(t)
    const store = memoryRegistrations()
    const registration = await fapiRegistration({ client, store }).ensure()
    assert.equal(registration.clientId, 'registered-client')
    assert.equal((await store.get(as.issuer))?.registrationAccessToken, 'rat-1')
    const sent = JSON.parse(as.seen[0]?.body ?? '{}') as Record<string, unknown>
    assert.deepEqual(sent.redirect_uris, [client.redirectUri])
    assert.equal(sent.token_endpoint_auth_method, 'private_key_jwt')
    assert.equal(sent.token_endpoint_auth_signing_alg, 'ES256')
    assert.equal(sent.dpop_bound_access_tokens, true)
    assert.equal(sent.request_object_signing_alg, 'ES256')
    assert.equal(
      sent.authorization_signed_response_alg,
      'PS256',
      'the first allowed alg the server lists',
    )
    assert.deepEqual(
      (sent.jwks as { keys: { kid: string; d?: string }[] }).keys.map((k) => [k.kid, k.d]),
      [['portal-es256', undefined]],
    )
  })
})

describe('what the client sends', () => {
  test('UK style: format "jwt" sends application/jose signed with the client key, aud = issuer, with the SSA and the initial access token', async (t) => {
    const { as, key, client } = await setup(t)
    as.reply = () => ({
      status: 201,
      body: {
        client_id: 'c',
        redirect_uris: [client.redirectUri],
        token_endpoint_auth_method: 'private_key_jwt',
        id_token_signed_response_alg: 'ES256',
        authorization_signed_response_alg: 'ES256',
        request_object_signing_alg: 'ES256',
        dpop_bound_access_tokens: true,
      },
    })
    await fapiRegistration({
      client,
      format: 'jwt',
      softwareStatement: () => Promise.resolve(SSA),
      initialAccessToken: 'initial-token',
    }).ensure()
    const seen = as.seen[0]
    assert.equal(seen?.headers['content-type'], 'application/jose')
    assert.equal(seen?.headers.authorization, 'Bearer initial-token')
    const jwt = seen?.body ?? ''
    assert.equal(decodeProtectedHeader(jwt).kid, 'portal-es256')
    const { payload } = await jwtVerify(jwt, await importJWK(key.publicJwk, 'ES256'), {
      audience: as.issuer,
    })
    assert.equal(payload.software_statement, SSA)
    assert.equal(payload.iss, 'app', 'the software_id of the SSA')
    assert.deepEqual(payload.redirect_uris, [client.redirectUri])
  })

  test('the software statement function is called for each registration; its failure is ERR_SOFTWARE_STATEMENT_UNAVAILABLE', async (t) => {
    const { as, client } = await setup(t)
    await expectCode(
      fapiRegistration({
        client,
        softwareStatement: () => Promise.reject(new Error('directory down')),
      }).ensure(),
      'ERR_SOFTWARE_STATEMENT_UNAVAILABLE',
    )
    await expectCode(
      fapiRegistration({ client, softwareStatement: () => Promise.resolve('not a jwt') }).ensure(),
      'ERR_SOFTWARE_STATEMENT_UNAVAILABLE',
    )
    assert.equal(as.seen.length, 0, 'nothing sent without a software statement')
  })
})
