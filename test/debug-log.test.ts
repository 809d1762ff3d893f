/**
 * Logging with `debug` (DEBUG=express-fapi:*): whole logins, a success and each class of failure,
 * with every namespace on and its output captured; no secret of the flow may appear in it (tokens,
 * the code, state, nonce, PKCE verifier and challenge, client assertions, the request object,
 * request_uri, DPoP private key parts, claim values).
 */
import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { captureDebugLines } from './support/debug-capture.js'
import type { Express } from 'express'
import type { FapiClient } from '../src/index.js'
import { without } from './support/hostile-jwt.js'
import { login, setup, type Fixture } from './support/hostile-fixture.js'
import type { Authorized } from './support/hostile-server.js'

const lines = captureDebugLines()

const CLAIMS = { email: 'hidden.person@example.test', name: 'Hidden Person Name' }

/** `/whoami`: the stored login, to learn the DPoP private key of the session. */
function whoami(app: Express, client: FapiClient): void {
  app.get('/whoami', (req, res, next) => {
    client.currentLogin(req).then((login) => res.json(login ?? null), next)
  })
}

/** Every secret of a login the fixture can see, as strings to look for. */
function secretsOf(fx: Fixture, authorized: Authorized, extra: readonly string[] = []): string[] {
  const secrets = [
    authorized.code,
    authorized.jwt,
    String(authorized.request.state),
    String(authorized.request.nonce),
    String(authorized.request.code_challenge),
    ...extra,
  ]
  for (const pushed of fx.as.pushed()) {
    for (const name of ['client_assertion', 'request', 'dpop'] as const) {
      const value = pushed.form.get(name)
      if (value !== null) secrets.push(value)
    }
  }
  for (const form of fx.as.tokenRequests()) {
    for (const name of ['code', 'code_verifier', 'client_assertion', 'refresh_token'] as const) {
      const value = form.get(name)
      if (value !== null) secrets.push(value)
    }
  }
  for (const url of [authorized.url]) {
    const requestUri = new URL(url).searchParams.get('response')
    if (requestUri !== null) secrets.push(requestUri)
  }
  return secrets.filter((secret) => secret.length >= 8)
}

function assertNoSecret(secrets: readonly string[], from: number): void {
  const output = lines.slice(from).join('\n')
  assert.ok(output.length > 0, 'something was logged')
  for (const secret of secrets) {
    assert.ok(
      !output.includes(secret),
      `a secret appears in the debug output: ${secret.slice(0, 6)}…`,
    )
  }
}

async function run(
  t: TestContext,
  prepare: (fx: Fixture) => void,
  expectedStatus: number,
): Promise<void> {
  const from = lines.length
  const fx = await setup(t, {
    client: { senderConstraint: 'dpop', scope: 'openid email' },
    routes: whoami,
  })
  fx.as.idToken = { claims: (c) => ({ ...c, ...CLAIMS }) }
  prepare(fx)
  const authorized = await login(fx)
  const answer = await fx.browser.deliver(authorized)
  const body = await answer.text()
  assert.equal(answer.status, expectedStatus, body.slice(0, 200))
  const extra: string[] = [CLAIMS.email, CLAIMS.name]
  if (expectedStatus === 200) {
    const stored = (await (await fx.browser.request('/whoami')).json()) as {
      tokens: Record<string, string>
      dpopKey: { jwk: Record<string, string> }
    }
    extra.push(stored.tokens.accessToken ?? '', stored.tokens.idToken ?? '')
    if (stored.tokens.refreshToken !== undefined) extra.push(stored.tokens.refreshToken)
    extra.push(stored.dpopKey.jwk.d ?? '')
  }
  assertNoSecret(secretsOf(fx, authorized, extra), from)
}

describe('debug logging (DEBUG=express-fapi:*) never shows a secret of the flow', () => {
  test('debug log: a successful login logs its decisions, and no token, code, state, nonce, verifier, assertion, key or claim value', async (t) => {
    const from = lines.length
    await run(t, () => undefined, 200)
    const output = lines.slice(from).join('\n')
    for (const namespace of ['discovery', 'keys', 'login', 'callback', 'token', 'http']) {
      assert.match(output, new RegExp(`express-fapi:${namespace}`), namespace)
    }
  })

  test('debug log: an ID token failure logs its code and no secret', async (t) => {
    const from = lines.length
    await run(
      t,
      (fx) => (fx.as.idToken = { claims: (c) => without({ ...c, ...CLAIMS }, 'nonce') }),
      502,
    )
    assert.match(lines.slice(from).join('\n'), /ERR_ID_TOKEN_NONCE_MISMATCH/)
  })

  test('debug log: a JARM failure logs its code and no secret', async (t) => {
    const from = lines.length
    const fx = await setup(t, { client: { senderConstraint: 'dpop' } })
    const authorized = await login(fx, { claims: (c) => ({ ...c, iss: 'https://evil.example' }) })
    assert.equal((await fx.browser.deliver(authorized)).status, 400)
    assert.match(lines.slice(from).join('\n'), /ERR_JARM_ISS_MISMATCH/)
    assertNoSecret(secretsOf(fx, authorized), from)
  })

  test('debug log: a token endpoint refusal logs its code and no secret', async (t) => {
    const from = lines.length
    await run(
      t,
      (fx) =>
        (fx.as.token = () => ({
          status: 400,
          headers: {},
          body: { error: 'invalid_grant' },
        })),
      502,
    )
    assert.match(lines.slice(from).join('\n'), /ERR_TOKEN_REJECTED/)
  })

  test('debug log: a replayed response logs ERR_TRANSACTION_NOT_FOUND and no secret', async (t) => {
    const fx = await setup(t, { client: { senderConstraint: 'dpop' } })
    const authorized = await login(fx)
    await fx.browser.deliver(authorized)
    const from = lines.length
    assert.equal((await fx.browser.deliver(authorized)).status, 400)
    assert.match(lines.slice(from).join('\n'), /ERR_TRANSACTION_NOT_FOUND/)
    assertNoSecret(secretsOf(fx, authorized), from)
  })
})
