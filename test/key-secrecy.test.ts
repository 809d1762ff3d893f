/**
 * The client's private keys never leave through its own outputs: not in `jwks()`, a debug log
 * line (every namespace on), a trace event (`onEvent`), an error or its cause, for a key given as
 * a JWK and for one behind an external signer; through logins, a refresh, key and certificate
 * updates, a failing signer and refused configurations.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { captureDebugLines } from './support/debug-capture.js'
import { FapiConfigError, fapiClient, type ExternalSigner, type FapiEvent } from '../src/index.js'
import { startFapi2Login } from './support/fapi2-fixture.js'
import { generateEncryptionJwks, generateJwks } from './support/keys.js'
import { countingSigner } from './support/signers.js'

const lines = captureDebugLines()

/** The private members of a JWK, as the strings to look for. */
function privateParts(jwk: Record<string, unknown>): string[] {
  return ['d', 'p', 'q', 'dp', 'dq', 'qi']
    .map((name) => jwk[name])
    .filter((value): value is string => typeof value === 'string')
}

function serialised(error: unknown): string {
  const parts: unknown[] = []
  for (let e = error; e instanceof Error; e = e.cause) {
    parts.push(e.message, e.stack, JSON.stringify(e), String(e))
  }
  return parts.join('\n')
}

test('no private key member in jwks(), logs, trace events or errors: a JWK and an external signer', async (t) => {
  const jwk = await generateJwks('PS256', 'in-process')
  const enc = await generateEncryptionJwks('enc')
  const signer = await countingSigner('ES256', 'external')
  const secrets = [
    ...privateParts(jwk.privateJwk),
    ...privateParts(enc.privateJwk),
    ...privateParts(signer.privateJwk),
  ]
  assert.ok(secrets.length >= 11, 'the secrets to look for')
  const events: FapiEvent[] = []
  const failing: ExternalSigner = {
    ...signer,
    sign: () => Promise.reject(new Error(`leaked ${String(signer.privateJwk.d)}`)),
  }
  const fx = await startFapi2Login(t, {
    profile: 'fapi2-message-signing',
    senderConstraint: 'dpop',
    alg: 'ES256',
    refreshTokens: true,
    encryption: { idToken: true },
    client: {
      keys: {
        signing: [signer, { ...jwk.privateJwk, state: 'next' }],
        encryption: [enc.privateJwk],
      },
      onEvent: (event) => {
        events.push(event)
      },
    },
  })
  const outputs: string[] = []
  outputs.push(await (await fx.browser.request('/jwks')).text())
  const landed = await fx.browser.deliver(await fx.authorize())
  assert.equal(landed.status, 200, await landed.clone().text())
  const refreshed = await fx.browser.request('/refresh', { method: 'POST' })
  assert.equal(refreshed.status, 200)

  // A signer failing with the key in its own message: the error says the kid only.
  fx.app.client.updateKeys({ signing: [failing], encryption: [enc.privateJwk] })
  const failed = await fx.browser.request('/auth/login')
  outputs.push(await failed.text())
  assert.match(outputs.at(-1) ?? '', /ERR_SIGNER_FAILED/)

  // Refused configurations and updates that carry private keys.
  const refusals: unknown[] = []
  const attempt = (run: () => unknown) => {
    try {
      run()
    } catch (error) {
      assert.ok(error instanceof FapiConfigError)
      refusals.push(error)
    }
  }
  attempt(() => fx.app.client.updateKeys({ signing: [{ ...jwk.privateJwk, alg: 'ES256' }] }))
  attempt(() =>
    fx.app.client.updateKeys({ signing: [{ ...signer, publicJwk: signer.privateJwk }] }),
  )
  attempt(() => fx.app.client.updateKeys({ signing: [{ ...jwk.privateJwk, kty: 'oct' }] }))
  attempt(() =>
    fapiClient({
      issuer: 'https://as.example.com',
      clientId: 'portal',
      redirectUri: 'https://portal.example.com/cb',
      keys: { signing: [{ ...jwk.privateJwk, n: 'AQAB' }] },
    }),
  )
  assert.equal(refusals.length, 4)

  const everything = [
    ...outputs,
    ...lines,
    ...events.map((event) => JSON.stringify(event)),
    ...refusals.map(serialised),
    ...fx.app.unexpectedErrors.map(serialised),
  ].join('\n')
  assert.ok(lines.length > 10, 'the debug log was captured')
  assert.ok(events.length > 5, 'trace events were captured')
  for (const secret of secrets) assert.equal(everything.includes(secret), false)
})
