/**
 * The profiles and the options they govern, checked at startup: sender constraint, client
 * authentication, TLS material, request objects, response modes, algorithms and encryption. Each
 * refusal is a FapiConfigError that names the option to change.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { before, describe, test } from 'node:test'
import { FapiConfigError, fapiClient, type FapiClientOptions } from '../src/index.js'
import { resolveConfig } from '../src/config/index.js'
import { testCertificates, type TestCertificates } from './support/certs.js'
import { generateEncryptionJwks, generateJwks, type KeyPairJwks } from './support/keys.js'

let es256: KeyPairJwks
let ps256: KeyPairJwks
let enc: KeyPairJwks
let certs: TestCertificates
before(async () => {
  ;[es256, ps256, enc, certs] = await Promise.all([
    generateJwks('ES256', 'ec-1'),
    generateJwks('PS256', 'rsa-1'),
    generateEncryptionJwks('enc-1'),
    testCertificates(),
  ])
})

function options(overrides: Partial<FapiClientOptions> = {}): FapiClientOptions {
  return {
    issuer: 'https://as.example.test',
    clientId: 'portal',
    redirectUri: 'https://portal.example.test/auth/callback',
    keys: { signing: [es256.privateJwk] },
    ...overrides,
  }
}

function rejects(overrides: Partial<FapiClientOptions>, option: string, hint?: RegExp): void {
  assert.throws(
    () => fapiClient(options(overrides)),
    (error: unknown) => {
      assert.ok(error instanceof FapiConfigError)
      assert.match(error.message, new RegExp(`"${option.replace(/[[\].]/g, '\\$&')}"`))
      if (hint) assert.match(error.message, hint)
      return true
    },
  )
}

const client = () => ({ cert: certs.client.cert, key: certs.client.key })

describe('profile defaults', () => {
  test('FAPI 2.0 §5.3.3.1 (1): both FAPI 2.0 profiles bind tokens with DPoP by default', () => {
    for (const profile of ['fapi2-security', 'fapi2-message-signing'] as const) {
      assert.equal(resolveConfig(options({ profile })).senderConstraint, 'dpop')
    }
  })

  test('FAPI 2.0 §5.3.3.2 (5): fapi2-security answers in plain query mode by default, checked by iss', () => {
    const config = resolveConfig(options({ profile: 'fapi2-security' }))
    assert.deepEqual(
      [config.responseMode, config.jarm, config.requestObject, config.par],
      ['query', false, false, true],
    )
    assert.equal(
      resolveConfig(options({ profile: 'fapi2-security', responseMode: 'jwt' })).jarm,
      true,
    )
  })

  test('FAPI 1.0 Adv §5.2.3 (1): fapi1-advanced binds with mTLS by default; without a certificate it says how to opt out', () => {
    rejects({ profile: 'fapi1-advanced' }, 'tls', /senderConstraint: "none"/)
    const config = resolveConfig(options({ profile: 'fapi1-advanced', tls: client() }))
    assert.equal(config.senderConstraint, 'mtls')
  })

  test('FAPI 1.0 Adv §5.2.3 (1): fapi1-advanced refuses DPoP', () => {
    rejects({ profile: 'fapi1-advanced', senderConstraint: 'dpop' }, 'senderConstraint', /mtls/)
  })

  test('RFC 9700 §2.2: the oidc profile binds nothing unless asked, and sends no PAR by default', () => {
    const config = resolveConfig(options({ profile: 'oidc' }))
    assert.deepEqual(
      [config.senderConstraint, config.par, config.requestObject],
      ['none', false, false],
    )
    assert.equal(
      resolveConfig(options({ profile: 'oidc', senderConstraint: 'dpop' })).senderConstraint,
      'dpop',
    )
  })

  test('FAPI 2.0 Message Signing: requestObject cannot be turned off under fapi2-message-signing or fapi1-advanced', () => {
    rejects({ requestObject: false }, 'requestObject')
    rejects(
      { profile: 'fapi1-advanced', senderConstraint: 'none', requestObject: false },
      'requestObject',
    )
  })

  test('FAPI 2.0 §5.3.3.2 (2): PAR cannot be turned off under fapi2-security', () => {
    rejects(
      { profile: 'fapi2-security', pushedAuthorizationRequests: false },
      'pushedAuthorizationRequests',
    )
  })

  test('an unknown senderConstraint or clientAuthMethod is refused', () => {
    rejects({ senderConstraint: 'bearer' as never }, 'senderConstraint')
    rejects({ clientAuthMethod: 'client_secret_basic' as never }, 'clientAuthMethod', /FAPI 2.0/)
  })
})

describe('algorithms', () => {
  test('FAPI 1.0 Adv §8.6, FAPI 2.0 §5.4.1: RS256 is refused outside the oidc profile', () => {
    rejects({ algorithms: ['RS256'] }, 'algorithms', /oidc/)
    rejects(
      { profile: 'fapi1-advanced', algorithms: ['EdDSA'], senderConstraint: 'none' },
      'algorithms',
    )
  })

  test('oidc: an RS256 key is accepted only when algorithms lists RS256', () => {
    const rs256 = { ...ps256.privateJwk, alg: 'RS256' }
    rejects({ profile: 'oidc', keys: { signing: [rs256] } }, 'keys.signing[0]')
    const config = resolveConfig(
      options({ profile: 'oidc', algorithms: ['RS256'], keys: { signing: [rs256] } }),
    )
    assert.equal(config.signingKeys[0]?.alg, 'RS256')
  })

  test('algorithms may narrow the profile list', () => {
    const config = resolveConfig(options({ algorithms: ['ES256'] }))
    assert.deepEqual(config.allowedAlgorithms, ['ES256'])
    rejects({ keys: { signing: [ps256.privateJwk] }, algorithms: ['ES256'] }, 'keys.signing[0]')
  })
})

describe('mTLS material', () => {
  test('RFC 8705 §2: tls_client_auth needs the certificate and its key', () => {
    rejects({ clientAuthMethod: 'tls_client_auth' }, 'tls', /RFC 8705/)
    assert.doesNotThrow(() =>
      fapiClient(options({ clientAuthMethod: 'tls_client_auth', tls: client() })),
    )
  })

  test('tls needs cert and key together, and the key must belong to the certificate', () => {
    rejects({ tls: { cert: certs.client.cert } }, 'tls', /both/)
    rejects({ tls: { cert: certs.client.cert, key: certs.intruder.key } }, 'tls.key', /belong/)
    rejects({ tls: { cert: 'not a certificate', key: certs.client.key } }, 'tls.cert')
    rejects({ tls: { ca: [] } }, 'tls.ca')
  })

  test('RFC 8705 §2: with mTLS client authentication and no request object, keys.signing may be left out', () => {
    assert.doesNotThrow(() =>
      fapiClient(
        options({
          profile: 'fapi2-security',
          clientAuthMethod: 'self_signed_tls_client_auth',
          tls: { cert: certs.selfSigned.cert, key: certs.selfSigned.key },
          keys: {},
        }),
      ),
    )
    rejects({ profile: 'fapi2-security', keys: {} }, 'keys.signing')
  })
})

describe('encryption', () => {
  test('OIDC Core §3.1.3.7 (1), JARM §4.2: encrypted ID tokens or responses need keys.encryption', () => {
    rejects({ encryption: { idToken: true } }, 'keys.encryption')
    rejects({ encryption: { authorizationResponse: true } }, 'keys.encryption')
    assert.doesNotThrow(() =>
      fapiClient(
        options({
          keys: { signing: [es256.privateJwk], encryption: [enc.privateJwk] },
          encryption: { idToken: true, authorizationResponse: true },
        }),
      ),
    )
  })

  test('JARM §4.2: encryption.authorizationResponse needs a JARM response mode', () => {
    rejects(
      {
        profile: 'fapi2-security',
        keys: { signing: [es256.privateJwk], encryption: [enc.privateJwk] },
        encryption: { authorizationResponse: true },
      },
      'encryption.authorizationResponse',
    )
  })

  test('JAR §4: encryption.requestObject needs requestObject', () => {
    rejects(
      { profile: 'fapi2-security', encryption: { requestObject: true } },
      'encryption.requestObject',
    )
  })

  test('FAPI 1.0 Adv §8.6.1: an encryption key with alg RSA1_5 is refused', () => {
    rejects(
      { keys: { signing: [es256.privateJwk], encryption: [{ ...enc.privateJwk, alg: 'RSA1_5' }] } },
      'keys.encryption[0]',
      /RSA1_5.*§8\.6\.1/,
    )
  })

  test('RFC 7517 §4.2: an encryption key with use sig, or a symmetric one, is refused', () => {
    rejects(
      { keys: { signing: [es256.privateJwk], encryption: [{ ...enc.privateJwk, use: 'sig' }] } },
      'keys.encryption[0]',
    )
    rejects(
      {
        keys: {
          signing: [es256.privateJwk],
          encryption: [{ kty: 'oct', k: 'c2VjcmV0', kid: 's' }],
        },
      },
      'keys.encryption[0]',
    )
  })

  test('EC and X25519 keys decrypt with ECDH-ES; an Ed25519 key cannot', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey
    const x25519 = generateKeyPairSync('x25519').privateKey
    const ed = generateKeyPairSync('ed25519').privateKey
    const config = resolveConfig(
      options({
        keys: {
          signing: [es256.privateJwk],
          encryption: [
            { kid: 'ec', key: ec },
            { kid: 'x', key: x25519 },
          ],
        },
      }),
    )
    assert.deepEqual(
      config.encryptionKeys.map((key) => key.publicJwk.use),
      ['enc', 'enc'],
    )
    rejects(
      { keys: { signing: [es256.privateJwk], encryption: [{ kid: 'ed', key: ed }] } },
      'keys.encryption[0]',
    )
  })

  test('FAPI 1.0 Adv §8.9: a kid shared by a signing and an encryption key is refused', () => {
    rejects(
      { keys: { signing: [es256.privateJwk], encryption: [{ ...enc.privateJwk, kid: 'ec-1' }] } },
      'keys.encryption',
      /twice/,
    )
  })
})
