import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, test } from 'node:test'
import { FapiConfigError, fapiClient, type FapiClientOptions } from '../src/index.js'
import { generateJwks } from './support/keys.js'

const ps256 = await generateJwks('PS256', 'rsa-1')
const es256 = await generateJwks('ES256', 'ec-1')

function options(overrides: Partial<FapiClientOptions> = {}): FapiClientOptions {
  return {
    issuer: 'https://as.example.test',
    clientId: 'portal',
    redirectUri: 'https://portal.example.test/auth/callback',
    keys: { signing: [ps256.privateJwk] },
    ...overrides,
  }
}

/** Asserts a startup failure that names the option to change. */
function rejects(overrides: Partial<FapiClientOptions>, option: string, hint?: RegExp): void {
  assert.throws(
    () => fapiClient(options(overrides)),
    (error: unknown) => {
      assert.ok(error instanceof FapiConfigError, 'a FapiConfigError')
      assert.ok(error instanceof TypeError, 'a TypeError')
      assert.equal(error.code, 'ERR_INVALID_CONFIG')
      assert.match(error.message, new RegExp(`"${option.replace(/[[\].]/g, '\\$&')}"`))
      if (hint) assert.match(error.message, hint)
      return true
    },
  )
}

describe('configuration is checked once, at startup', () => {
  test('a valid FAPI 2.0 configuration with PS256 and ES256 keys is accepted', () => {
    const client = fapiClient(options({ keys: { signing: [ps256.privateJwk, es256.privateJwk] } }))
    assert.equal(typeof client.login, 'function')
    assert.equal(typeof client.callback, 'function')
  })

  test('a KeyObject with a kid is accepted', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    assert.doesNotThrow(() =>
      fapiClient(options({ keys: { signing: [{ kid: 'k', key: privateKey }] } })),
    )
  })

  test('FAPI 2.0 §5.2.1: an http issuer is refused', () => {
    rejects({ issuer: 'http://as.example.test' }, 'issuer', /https/)
  })

  test('an http loopback issuer needs the explicit allowInsecureLoopback option', () => {
    rejects({ issuer: 'http://127.0.0.1:8080' }, 'issuer', /allowInsecureLoopback/)
    assert.doesNotThrow(() =>
      fapiClient(
        options({
          issuer: 'http://127.0.0.1:8080',
          redirectUri: 'http://127.0.0.1:3000/cb',
          allowInsecureLoopback: true,
        }),
      ),
    )
  })

  test('allowInsecureLoopback never allows http to a non-loopback host', () => {
    rejects({ issuer: 'http://as.example.test', allowInsecureLoopback: true }, 'issuer')
  })

  test('RFC 9700 §2.6: an http redirectUri off loopback is refused', () => {
    rejects({ redirectUri: 'http://portal.example.test/cb' }, 'redirectUri', /https/)
  })

  test('a relative redirectUri is refused (never guessed from the request)', () => {
    rejects({ redirectUri: '/auth/callback' }, 'redirectUri', /absolute/)
  })

  test('clientId is required', () => {
    rejects({ clientId: '' }, 'clientId')
  })

  test('FAPI 1.0 Adv §8.6 / FAPI 2.0 §5.4.1: a key with alg RS256 is refused', () => {
    rejects(
      { keys: { signing: [{ ...ps256.privateJwk, alg: 'RS256' }] } },
      'keys.signing[0]',
      /PS256/,
    )
  })

  test('FAPI 2.0 §5.4.1: a symmetric (HS*) key is refused', () => {
    rejects(
      { keys: { signing: [{ kty: 'oct', k: 'c2VjcmV0', kid: 's', alg: 'HS256' }] } },
      'keys.signing[0]',
      /HS/,
    )
  })

  test('a key without kid is refused', () => {
    const { kid: _kid, ...noKid } = ps256.privateJwk
    void _kid
    rejects({ keys: { signing: [noKid as typeof ps256.privateJwk] } }, 'keys.signing[0]', /kid/)
  })

  test('a public key is refused as a signing key', () => {
    rejects({ keys: { signing: [ps256.publicJwk] } }, 'keys.signing[0]')
  })

  test('FAPI 1.0 Baseline §5.2.4 (2): an RSA key under 2048 bits is refused', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
    rejects({ keys: { signing: [{ kid: 'small', key: privateKey }] } }, 'keys.signing[0]', /2048/)
  })

  test('an EC key off P-256 is refused', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    rejects({ keys: { signing: [{ kid: 'p384', key: privateKey }] } }, 'keys.signing[0]', /P-256/)
  })

  test('FAPI 1.0 Adv §8.6: an Ed25519 key is refused under fapi1-advanced, accepted under FAPI 2.0', () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const signing = [{ kid: 'ed', key: privateKey }]
    rejects({ profile: 'fapi1-advanced', keys: { signing } }, 'keys.signing[0]', /EdDSA/)
    assert.doesNotThrow(() => fapiClient(options({ keys: { signing } })))
  })

  test('two keys with one kid are refused', () => {
    rejects(
      { keys: { signing: [ps256.privateJwk, { ...es256.privateJwk, kid: 'rsa-1' }] } },
      'keys.signing',
    )
  })

  test('FAPI 2.0 §5.3.3.2 (2): PAR cannot be turned off under fapi2-message-signing', () => {
    rejects({ pushedAuthorizationRequests: false }, 'pushedAuthorizationRequests', /fapi1-advanced/)
    assert.doesNotThrow(() =>
      fapiClient(
        options({
          profile: 'fapi1-advanced',
          pushedAuthorizationRequests: false,
          senderConstraint: 'none',
        }),
      ),
    )
  })

  test('FAPI 1.0 Adv §5.2.3.2 / FAPI 2.0 MS: a non-JARM response mode is refused', () => {
    rejects({ responseMode: 'query' as never }, 'responseMode', /jwt/)
    rejects({ responseMode: 'form_post' as never }, 'responseMode')
  })

  test('an unknown profile is refused', () => {
    rejects({ profile: 'oauth2' as never }, 'profile')
  })

  test('FAPI 1.0 Baseline §5.2.3 (7): a scope without openid is refused', () => {
    rejects({ scope: 'profile email' }, 'scope', /openid/)
  })

  test('authorizationParams cannot override a parameter the library owns (PKCE, state, nonce, …)', () => {
    for (const name of [
      'code_challenge_method',
      'state',
      'nonce',
      'redirect_uri',
      'request_uri',
      'sub',
    ]) {
      rejects({ authorizationParams: { [name]: 'x' } }, `authorizationParams.${name}`)
    }
  })

  test('requestObjectLifetime over 60 minutes is refused (FAPI 1.0 Adv §5.2.3 (11))', () => {
    rejects({ requestObjectLifetime: 3601 }, 'requestObjectLifetime', /3600/)
  })

  test('numeric limits must be integers in range', () => {
    rejects({ clockTolerance: 120 }, 'clockTolerance')
    rejects({ httpTimeout: 0 }, 'httpTimeout')
    rejects({ maxPendingLogins: 0 }, 'maxPendingLogins')
  })

  test('httpTimer must be a function', () => {
    const notATimer = 1000 as unknown as NonNullable<FapiClientOptions['httpTimer']>
    rejects({ httpTimer: notATimer }, 'httpTimer', /function/)
  })

  test('returnToOrigins must be origins; defaultReturnTo a local path', () => {
    rejects({ returnToOrigins: ['https://app.example.test/path'] }, 'returnToOrigins[0]')
    rejects({ defaultReturnTo: '//evil.example' }, 'defaultReturnTo')
  })
})
