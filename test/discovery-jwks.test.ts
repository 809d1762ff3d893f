/**
 * Discovery (OIDC Discovery §4.3, FAPI 2.0 §5.3.3.1 (9)–(11)) and the server's JWKS: metadata that
 * is not exactly this issuer's or lacks what FAPI needs stops the login before anything is signed
 * or pushed; outages are not cached; concurrent first logins share one fetch.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { JWK } from 'jose'
import type { FapiErrorCode } from '../src/index.js'
import { runAttackerKeys } from './support/hostile-jwt.js'
import {
  expectError,
  expectLogin,
  expectRejected,
  login,
  setup,
  type Fixture,
} from './support/hostile-fixture.js'
import { manualTimer } from './support/manual-timer.js'

const DISCOVERY = '/.well-known/openid-configuration'

type Metadata = Record<string, unknown>

/** The login itself fails: no PAR, no redirect, no session login. */
async function expectLoginFails(
  fx: Fixture,
  status: number,
  code: FapiErrorCode,
  beforeAnswer: () => Promise<void> = async () => undefined,
): Promise<void> {
  const answer = fx.browser.request('/auth/login')
  await beforeAnswer()
  await expectError(await answer, status, code)
  assert.equal(fx.as.requests('/par'), 0)
  assert.equal((await fx.browser.request('/me')).status, 401)
  assert.deepEqual(fx.app.unexpectedErrors, [])
}

const METADATA_CASES: readonly [string, (m: Metadata) => Metadata, FapiErrorCode][] = [
  [
    'OIDC Discovery §4.3, FAPI 2.0 §5.3.3.1 (11): an issuer mismatch is refused at login',
    (m) => ({ ...m, issuer: 'https://evil.example' }),
    'ERR_DISCOVERY_ISSUER_MISMATCH',
  ],
  [
    'OIDC Discovery §4.3: the issuer with a trailing slash is a mismatch',
    (m) => ({ ...m, issuer: `${String(m.issuer)}/` }),
    'ERR_DISCOVERY_ISSUER_MISMATCH',
  ],
  [
    'OIDC Discovery §4.3: metadata without issuer is refused',
    (m) => ({ ...m, issuer: undefined }),
    'ERR_DISCOVERY_ISSUER_MISMATCH',
  ],
  [
    'FAPI 2.0 MS (1), JARM §4.3: the response mode not advertised is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, response_modes_supported: ['query', 'fragment'] }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'RFC 8414 §2: no response_modes_supported means query and fragment only',
    (m) => ({ ...m, response_modes_supported: undefined }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.4.1: request objects with neither PS256 nor ES256 are ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, request_object_signing_alg_values_supported: ['RS256', 'none'] }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.4.1: JARM responses with neither PS256 nor ES256 are ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, authorization_signing_alg_values_supported: ['RS256', 'HS256'] }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.4.1: ID tokens with neither PS256 nor ES256 are ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, id_token_signing_alg_values_supported: ['RS256', 'none'] }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.4.1: assertions with neither PS256 nor ES256 are ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, token_endpoint_auth_signing_alg_values_supported: ['RS256'] }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.4.1: no alg the client key can sign (ES256 key, PS256 only) is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, request_object_signing_alg_values_supported: ['PS256'] }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.3.3.1 (2): no private_key_jwt is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, token_endpoint_auth_methods_supported: ['client_secret_basic'] }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'RFC 8414 §2: no token_endpoint_auth_methods_supported means client_secret_basic only',
    (m) => ({ ...m, token_endpoint_auth_methods_supported: undefined }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.3.3.2 (3), RFC 7636 §4.2: no S256 is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, code_challenge_methods_supported: ['plain'] }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'RFC 9700 §4.8: no code_challenge_methods_supported is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, code_challenge_methods_supported: undefined }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.3.3.2 (2): no PAR endpoint while PAR is on is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, pushed_authorization_request_endpoint: undefined }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'FAPI 2.0 §5.2.1: a plain-http endpoint off loopback is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, token_endpoint: 'http://evil.example/token' }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'RFC 8414 §2: an endpoint that is not an absolute URL is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, jwks_uri: '/jwks' }),
    'ERR_DISCOVERY_INVALID',
  ],
  [
    'RFC 8414 §2: an algorithm list that is not an array of strings is ERR_DISCOVERY_INVALID',
    (m) => ({ ...m, id_token_signing_alg_values_supported: 'PS256' }),
    'ERR_DISCOVERY_INVALID',
  ],
]

for (const [name, rewrite, code] of METADATA_CASES) {
  test(name, async (t) => {
    const fx = await setup(t)
    fx.as.metadata = rewrite
    await expectLoginFails(fx, 502, code)
  })
}

test('OIDC Discovery §4.3: the issuer mismatch message shows both issuers', async (t) => {
  const fx = await setup(t)
  fx.as.metadata = (m) => ({ ...m, issuer: `${String(m.issuer)}/` })
  const answer = await fx.browser.request('/auth/login')
  const body = (await answer.json()) as { error: string; message: string }
  assert.equal(body.error, 'ERR_DISCOVERY_ISSUER_MISMATCH')
  assert.ok(body.message.includes(`the issuer "${fx.as.issuer}/"`), body.message)
  assert.ok(body.message.includes(`the configured issuer "${fx.as.issuer}"`), body.message)
})

const OUTAGES: readonly [string, Parameters<Fixture['as']['fault']>[1], number, FapiErrorCode][] = [
  [
    'HTTP 503',
    () => ({ status: 503, raw: 'down', contentType: 'text/plain' }),
    502,
    'ERR_AS_HTTP_STATUS',
  ],
  ['a hang', () => ({ status: 200, hang: true }), 504, 'ERR_AS_TIMEOUT'],
  ['invalid JSON', (reply) => ({ ...reply, raw: '{"issuer":' }), 502, 'ERR_AS_INVALID_JSON'],
  [
    'a redirect',
    () => ({ status: 301, raw: '', headers: { location: '/alt/x' } }),
    502,
    'ERR_AS_HTTP_STATUS',
  ],
  ['a reset connection', () => ({ status: 200, destroy: true }), 502, 'ERR_AS_UNREACHABLE'],
]

for (const [name, fault, status, code] of OUTAGES) {
  test(
    `discovery down (${name}) fails the login; once it is back the next login works`,
    { timeout: 20_000 },
    async (t) => {
      // The timeout fires on the test's signal, once the server holds the request: neither the
      // hang nor the recovery login depends on how fast a loaded machine is.
      const clock = manualTimer()
      const fx = await setup(t, { client: { httpTimer: clock.timer } })
      fx.as.fault(DISCOVERY, fault)
      await expectLoginFails(fx, status, code, async () => {
        if (code !== 'ERR_AS_TIMEOUT') return
        await fx.as.held(DISCOVERY)
        assert.equal(clock.expire(), 1, 'one request waits: the held discovery')
      })
      fx.as.fault(DISCOVERY, undefined)
      await expectLogin(fx, await login(fx))
      assert.equal(fx.as.requests(DISCOVERY), 2, 'the failure was not cached')
      assert.equal(fx.as.requests('/alt/x'), 0)
    },
  )
}

test('discovery is fetched once for 20 concurrent first logins', async (t) => {
  const fx = await setup(t)
  fx.as.fault(DISCOVERY, (reply) => ({ ...reply, delayMs: 100 }))
  const browsers = Array.from({ length: 20 }, () => fx.newBrowser())
  const urls = await Promise.all(browsers.map((browser) => browser.startLogin()))
  assert.equal(urls.length, 20)
  assert.equal(fx.as.requests(DISCOVERY), 1)
  assert.equal(fx.as.requests('/par'), 20)
  const last = browsers[19]
  assert.ok(last)
  await expectLogin(fx, await fx.as.authorize(urls[19] ?? ''), last)
})

test('FAPI 1.0 Baseline §5.2.3 (11): only endpoints from the metadata are used', async (t) => {
  const fx = await setup(t)
  fx.as.metadata = (m) => ({
    ...m,
    token_endpoint: `${fx.as.issuer}/alt/token`,
    pushed_authorization_request_endpoint: `${fx.as.issuer}/alt/par`,
    jwks_uri: `${fx.as.issuer}/alt/jwks`,
  })
  await expectLogin(fx, await login(fx))
  assert.deepEqual(
    ['/alt/par', '/alt/jwks', '/alt/token', '/par', '/jwks', '/token'].map((p) =>
      fx.as.requests(p),
    ),
    [1, 1, 1, 0, 0, 0],
  )
})

const JWKS_CASES: readonly [string, (keys: JWK[], attacker: JWK) => JWK[], FapiErrorCode][] = [
  [
    'FAPI 2.0 §5.4.3: a published key with use enc is not used to verify',
    (keys) => keys.map((k) => ({ ...k, use: 'enc' })),
    'ERR_JARM_KEY_NOT_FOUND',
  ],
  [
    'RFC 8725 §3.1: a published key with another alg is not used',
    (keys) => keys.map((k) => ({ ...k, alg: 'RS256' })),
    'ERR_JARM_KEY_NOT_FOUND',
  ],
  [
    'FAPI 1.0 Adv §8.9, §8.11: two RSA keys with the same kid are ambiguous',
    (keys, attacker) => [...keys, { ...attacker, kid: keys[0]?.kid ?? '' }],
    'ERR_JARM_KEY_NOT_FOUND',
  ],
  [
    'RFC 7517 §4: a published key without the verify key_op is not used',
    (keys) => keys.map((k) => ({ ...k, key_ops: ['encrypt'] })),
    'ERR_JARM_KEY_NOT_FOUND',
  ],
]

for (const [name, rewrite, code] of JWKS_CASES) {
  test(name, async (t) => {
    const fx = await setup(t)
    const attacker = (await runAttackerKeys()).PS256.publicJwk
    fx.as.jwks = (keys) => rewrite(keys, attacker)
    await expectRejected(fx, await login(fx), 400, code)
  })
}

test('RFC 7517 §5: a JWKS without a keys array is ERR_JWKS_INVALID', async (t) => {
  const fx = await setup(t)
  fx.as.fault('/jwks', (reply) => ({ ...reply, body: { keys: { not: 'an array' } } }))
  await expectRejected(fx, await login(fx), 502, 'ERR_JWKS_INVALID')
})

test('RFC 7517 §5: unusable JWKS entries (unknown kty, private, symmetric) are skipped', async (t) => {
  const fx = await setup(t)
  fx.as.fault('/jwks', (reply) => ({
    ...reply,
    body: {
      keys: [
        { kty: 'nonsense', kid: 'x' },
        7,
        { kty: 'oct', k: 'c2VjcmV0', kid: 'x' },
        ...(Array.isArray(reply.body?.keys) ? reply.body.keys : []),
      ],
    },
  }))
  await expectLogin(fx, await login(fx))
})

test('the JWKS down (HTTP 500) fails the callback without consuming the login; not cached', async (t) => {
  const fx = await setup(t)
  fx.as.fault('/jwks', () => ({ status: 500, body: { error: 'server_error' } }))
  const response = await login(fx)
  await expectRejected(fx, response, 502, 'ERR_AS_HTTP_STATUS')
  fx.as.fault('/jwks', undefined)
  await expectLogin(fx, response)
})

test('OIDC Core §10.1.1: stale JWKS are refreshed; an outage keeps the cached keys', async (t) => {
  let current = Date.now()
  const now = () => current
  const fx = await setup(t, { now, client: { pendingLoginMaxAge: 7200 } })
  await expectLogin(fx, await login(fx))
  assert.equal(fx.as.requests('/jwks'), 1)
  current += 11 * 60_000
  await expectLogin(fx, await login(fx))
  assert.equal(fx.as.requests('/jwks'), 2, 'keys older than 10 minutes are fetched again')
  fx.as.fault('/jwks', () => ({ status: 503, raw: 'down' }))
  current += 11 * 60_000
  await expectLogin(fx, await login(fx))
  assert.ok(fx.as.requests('/jwks') >= 3)
})

test(
  'a hung refresh of stale JWKS does not hold logins: cached keys answer meanwhile',
  { timeout: 20_000 },
  async (t) => {
    let current = Date.now()
    const now = () => current
    // A timeout far beyond the test's own limit: a login that waited for the refresh would fail.
    const fx = await setup(t, { now, client: { pendingLoginMaxAge: 7200, httpTimeout: 120_000 } })
    await expectLogin(fx, await login(fx))
    fx.as.fault('/jwks', () => ({ status: 200, hang: true }))
    current += 11 * 60_000
    await expectLogin(fx, await login(fx))
    assert.equal(fx.as.requests('/jwks'), 2, 'the refresh was started, and is still hanging')
  },
)

/** The server moves its token endpoint to `/alt/token`; the old one resets connections. */
function moveTokenEndpoint(fx: Awaited<ReturnType<typeof setup>>): void {
  const { metadata } = fx.as
  fx.as.metadata = (document) => ({
    ...metadata(document),
    token_endpoint: `${fx.as.issuer}/alt/token`,
  })
  fx.as.fault('/token', () => ({ status: 200, destroy: true }))
}

test('OIDC Discovery §4: metadata older than an hour is fetched again (a moved endpoint is followed)', async (t) => {
  let current = Date.now()
  const fx = await setup(t, { now: () => current })
  await expectLogin(fx, await login(fx))
  moveTokenEndpoint(fx)
  current += 61 * 60_000
  await expectLogin(fx, await login(fx))
  assert.equal(fx.as.requests(DISCOVERY), 2)
  assert.equal(fx.as.requests('/alt/token'), 1)
})

test('OIDC Discovery §4: an endpoint that stops working makes one shared refetch of the metadata', async (t) => {
  const fx = await setup(t)
  await expectLogin(fx, await login(fx))
  moveTokenEndpoint(fx)
  const browsers = Array.from({ length: 5 }, () => fx.newBrowser())
  const failed = await Promise.all(
    browsers.map(
      async (browser) => (await browser.deliver(await login(fx, undefined, browser))).status,
    ),
  )
  // The first failures start the refetch; a delivery that reaches the token step after it has
  // finished already uses the new endpoint.
  assert.ok(
    failed.some((status) => status >= 500) &&
      failed.every((status) => status >= 500 || status === 200),
    `the old endpoint fails: ${failed.join(', ')}`,
  )
  await expectLogin(fx, await login(fx))
  assert.equal(fx.as.requests(DISCOVERY), 2, 'one refetch for five failures (no herd)')
  assert.equal(fx.as.requests('/alt/token'), 1 + failed.filter((status) => status === 200).length)
})
