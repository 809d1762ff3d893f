/**
 * Client secrets for plain OpenID Connect servers (OIDC Core §9, RFC 6749 §2.3.1): the three
 * `client_secret_*` methods log in against a real oidc-provider; they are refused at startup under
 * the FAPI profiles (FAPI 2.0 §5.3.3.1 (2), FAPI 1.0 Adv §5.2.2 (14)); and the secret never shows
 * in logs, traces, errors, `jwks()` or a printed client.
 */
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { describe, test } from 'node:test'
import { captureDebugLines } from './support/debug-capture.js'
import {
  FapiConfigError,
  fapiClient,
  type ClientAuthMethod,
  type FapiClientOptions,
  type FapiEvent,
} from '../src/index.js'
import { startFapi2Login } from './support/fapi2-fixture.js'

const SECRET = 'Sx7-client-secret-of-the-portal-0123456789abcdef'
const METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'] as const

const lines = captureDebugLines()

const base: FapiClientOptions = {
  issuer: 'https://as.example.test',
  clientId: 'portal',
  redirectUri: 'https://portal.example.test/auth/callback',
  profile: 'oidc',
  clientAuthMethod: 'client_secret_basic',
  clientSecret: SECRET,
}

function refused(pattern: RegExp, secret?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof FapiConfigError, String(error))
    assert.match(error.message, pattern)
    if (secret !== undefined) assert.ok(!error.message.includes(secret), error.message)
    return true
  }
}

describe('client secrets at startup', () => {
  for (const profile of ['fapi2-security', 'fapi2-message-signing', 'fapi1-advanced'] as const) {
    for (const method of METHODS) {
      test(`FAPI 2.0 §5.3.3.1 (2): clientAuthMethod "${method}" is refused at startup under ${profile}`, () => {
        assert.throws(
          () => fapiClient({ ...base, profile, clientAuthMethod: method }),
          refused(
            /option "clientAuthMethod".*not allowed under profile.*profile "oidc" only/,
            SECRET,
          ),
        )
      })
    }
  }

  for (const method of METHODS) {
    test(`OIDC Core §9: "${method}" needs clientSecret`, () => {
      const { clientSecret, ...without } = base
      void clientSecret
      assert.throws(
        () => fapiClient({ ...without, clientAuthMethod: method }),
        refused(/option "clientSecret" must be the non-empty client secret/),
      )
    })
  }

  test('a clientSecret beside a method that does not use it is refused', () => {
    assert.throws(
      () =>
        fapiClient({
          ...base,
          clientAuthMethod: 'private_key_jwt' as ClientAuthMethod,
          keys: { signing: [] },
        }),
      refused(/option "(clientSecret|keys.signing)"/, SECRET),
    )
    assert.throws(
      () =>
        fapiClient({
          ...base,
          clientAuthMethod: 'tls_client_auth',
        }),
      refused(/option "(clientSecret|tls)"/, SECRET),
    )
  })

  test('RFC 7518 §3.2: a client_secret_jwt secret under 256 bits is refused, without echoing it', () => {
    const short = 'short-secret-1234'
    assert.throws(
      () => fapiClient({ ...base, clientAuthMethod: 'client_secret_jwt', clientSecret: short }),
      refused(/at least 32 characters/, short),
    )
    // 32 characters are enough.
    fapiClient({ ...base, clientAuthMethod: 'client_secret_jwt', clientSecret: 'x'.repeat(32) })
  })

  test('the secret does not show when the client is printed or serialised', () => {
    const client = fapiClient(base)
    assert.ok(!inspect(client, { depth: 10, showHidden: true }).includes(SECRET))
  })
})

describe('client secrets against a real oidc-provider', () => {
  for (const method of METHODS) {
    test(`OIDC Core §9: a login with ${method} against oidc-provider; the secret is in no log, trace, error or jwks()`, async (t) => {
      const events: FapiEvent[] = []
      lines.length = 0
      const fx = await startFapi2Login(t, {
        profile: 'oidc',
        senderConstraint: 'none',
        clientAuthMethod: method,
        clientSecret: SECRET,
        client: {
          onEvent: (event) => {
            events.push(event)
          },
        },
      })
      const landed = await fx.browser.deliver(await fx.authorize())
      assert.equal(landed.status, 200, await landed.clone().text())
      assert.equal(fx.app.logins[0]?.claims.sub, 'alice')
      assert.equal(fx.as.requests('main', '/token'), 1)
      const jwks = await (await fetch(fx.app.jwksUri)).text()
      for (const [where, text] of [
        ['logs', lines.join('\n')],
        ['traces', JSON.stringify(events)],
        ['jwks()', jwks],
        ['the login result', JSON.stringify(fx.app.logins)],
      ] as const) {
        assert.ok(!text.includes(SECRET), `the secret is in ${where}`)
      }
      assert.ok(events.some((event) => event.type === 'token-response'))
      assert.ok(lines.length > 0, 'logs were captured')
    })

    test(`OIDC Core §9: a wrong secret with ${method} is ERR_CLIENT_AUTH_REFUSED naming the method, without the secret`, async (t) => {
      lines.length = 0
      const wrong = `${SECRET}-but-wrong`
      const fx = await startFapi2Login(t, {
        profile: 'oidc',
        senderConstraint: 'none',
        clientAuthMethod: method,
        clientSecret: SECRET,
        client: { clientSecret: wrong },
      })
      const landed = await fx.browser.deliver(await fx.authorize())
      const text = await landed.text()
      assert.equal(landed.status, 502, text)
      const body = JSON.parse(text) as { error: string; message: string }
      assert.equal(body.error, 'ERR_CLIENT_AUTH_REFUSED')
      assert.match(body.message, new RegExp(`token_endpoint_auth_method "${method}"`))
      assert.match(body.message, /client secret/)
      for (const secret of [SECRET, wrong]) {
        assert.ok(!text.includes(secret), 'the secret is in the error')
        assert.ok(!lines.join('\n').includes(secret), 'the secret is in the logs')
      }
      assert.equal(fx.app.logins.length, 0)
    })
  }
})
