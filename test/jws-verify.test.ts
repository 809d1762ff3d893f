/**
 * RFC 7515, RFC 7518, RFC 7519 and RFC 8725: what the verification of the server's JWTs checks
 * itself now that signatures go through `crypto.verify` (no JOSE library in between): the compact
 * shape, base64url, JSON headers and payloads, `crit` and `b64`, the algorithm's key type and
 * size, the signature's length and padding, and the claim rules. Each negative case names the
 * check it proves: without that check the token would verify, or fail for another reason.
 */
import assert from 'node:assert/strict'
import {
  constants,
  generateKeyPairSync,
  sign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto'
import { describe, test } from 'node:test'
import type { JwsAlgorithm } from '../src/config/index.js'
import { verifyJws, type JwsExpectations } from '../src/core/jwt/jws.js'
import { isFapiError } from '../src/errors.js'

const ISSUER = 'https://as.example'
const CLIENT = 'portal'
const NOW = Date.UTC(2030, 0, 1)
const seconds = Math.floor(NOW / 1000)

function pair(alg: JwsAlgorithm | 'RSA-1024') {
  switch (alg) {
    case 'PS256':
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 })
    case 'RSA-1024':
      return generateKeyPairSync('rsa', { modulusLength: 1024 })
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    case 'EdDSA':
      return generateKeyPairSync('ed25519')
  }
}

const keys = {
  PS256: pair('PS256'),
  ES256: pair('ES256'),
  EdDSA: pair('EdDSA'),
  RS256: pair('RS256'),
  'RSA-1024': pair('RSA-1024'),
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url')
const json = (value: unknown) => b64(JSON.stringify(value))

function signatureOf(alg: JwsAlgorithm, key: KeyObject, input: string, salt = 32): Buffer {
  const options: KeyObject | SignKeyObjectInput =
    alg === 'PS256'
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt }
      : alg === 'ES256'
        ? { key, dsaEncoding: 'ieee-p1363' }
        : key
  return sign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), options)
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: CLIENT, iat: seconds, exp: seconds + 300, ...extra }
}

/** A token from raw header and payload segments, signed as `alg` with `key`. */
function token(
  h: string,
  p: string,
  options: { alg?: JwsAlgorithm; key?: KeyObject; salt?: number } = {},
): string {
  const alg = options.alg ?? 'PS256'
  const key = options.key ?? keys[alg].privateKey
  const input = `${h}.${p}`
  return `${input}.${b64(signatureOf(alg, key, input, options.salt))}`
}

function jwt(header: Record<string, unknown>, payload = claims(), alg: JwsAlgorithm = 'PS256') {
  return token(json({ alg, kid: 'k', ...header }), json(payload), { alg })
}

function expectations(key: KeyObject, overrides: Partial<JwsExpectations> = {}): JwsExpectations {
  return {
    kind: 'JARM',
    issuer: ISSUER,
    clientId: CLIENT,
    algorithms: ['PS256', 'ES256', 'EdDSA', 'RS256'],
    clockTolerance: 0,
    now: NOW,
    jwks: { select: () => Promise.resolve(key) },
    requiredClaims: ['iss', 'aud', 'exp'],
    ...overrides,
  }
}

const publicKey = (alg: JwsAlgorithm) => keys[alg].publicKey

async function rejects(
  jws: string,
  code: string,
  message: RegExp,
  expect: JwsExpectations = expectations(publicKey('PS256')),
) {
  await assert.rejects(verifyJws(jws, expect), (error: unknown) => {
    assert.ok(isFapiError(error), `expected a FapiError, got ${String(error)}`)
    assert.equal(error.code, code)
    assert.match(error.message, message)
    return true
  })
}

describe('JWS verification with crypto.verify', () => {
  for (const alg of ['PS256', 'ES256', 'EdDSA', 'RS256'] as const) {
    test(`RFC 7518 §3 / RFC 8037: a valid ${alg} token verifies, its payload decoded once`, async () => {
      const result = await verifyJws(jwt({}, claims({ n: 1 }), alg), expectations(publicKey(alg)))
      assert.equal(result.alg, alg)
      assert.deepEqual(result.payload, claims({ n: 1 }))
    })
  }

  test('RFC 7797 §6: "crit": ["b64"] with "b64": true is a plain JWS and verifies', async () => {
    const result = await verifyJws(
      jwt({ crit: ['b64'], b64: true }),
      expectations(publicKey('PS256')),
    )
    assert.equal(result.payload.iss, ISSUER)
  })

  describe('RFC 7515 §4.1.11: crit', () => {
    const cases: readonly [string, Record<string, unknown>, RegExp][] = [
      [
        'an extension not understood',
        { crit: ['exp'], exp: 1 },
        /"crit" lists "exp", which is not understood/,
      ],
      ['an empty list', { crit: [] }, /"crit" is not an array of names/],
      ['not a list', { crit: 'b64', b64: true }, /"crit" is not an array of names/],
      ['an empty name', { crit: [''] }, /"crit" is not an array of names/],
      ['a name twice', { crit: ['b64', 'b64'], b64: true }, /"crit" lists a name twice/],
      ['a name absent from the header', { crit: ['b64'] }, /"crit" lists "b64", which is absent/],
      ['"b64" not a boolean', { crit: ['b64'], b64: 'false' }, /"b64" is not a boolean/],
      [
        '"b64": false (RFC 7797 §7: JWTs never use it)',
        { crit: ['b64'], b64: false },
        /unencoded payload/,
      ],
    ]
    for (const [name, header, message] of cases) {
      test(`a correctly signed token whose crit has ${name} is ERR_JARM_MALFORMED`, async () => {
        await rejects(jwt(header), 'ERR_JARM_MALFORMED', message)
      })
    }
  })

  describe('RFC 7515 §2, §7.1, RFC 4648 §5: shape and base64url', () => {
    /** `value` as JSON, padded with spaces to a multiple of 3 octets, plus one more character. */
    function oneTooMany(value: unknown): string {
      let text = JSON.stringify(value)
      while (Buffer.byteLength(text) % 3 !== 0) text += ' '
      const odd = `${b64(text)}A`
      assert.equal(odd.length % 4, 1)
      // A lenient decoder drops the extra character and reads the same JSON.
      assert.deepEqual(JSON.parse(Buffer.from(odd, 'base64url').toString()), value)
      return odd
    }

    test('a header segment of a length base64url never has (1 mod 4), signed as sent', async () => {
      const jws = token(oneTooMany({ alg: 'PS256', kid: 'k' }), json(claims()))
      await rejects(jws, 'ERR_JARM_MALFORMED', /not valid base64url/)
    })

    test('a payload segment of a length base64url never has (1 mod 4), signed as sent', async () => {
      const jws = token(json({ alg: 'PS256', kid: 'k' }), oneTooMany(claims()))
      await rejects(jws, 'ERR_JARM_MALFORMED', /not valid base64url/)
    })

    test('a signature spelled with unused trailing bits set (not the canonical encoding)', async () => {
      const good = jwt({})
      const s = good.slice(good.lastIndexOf('.') + 1)
      // 256 octets: 342 characters, the last one carries 2 bits and 4 unused ones.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const last = alphabet.indexOf(s.at(-1) ?? 'A')
      const variant = `${s.slice(0, -1)}${alphabet[last | 1]}`
      assert.notEqual(variant, s)
      assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(s, 'base64url'))
      await rejects(
        `${good.slice(0, good.lastIndexOf('.'))}.${variant}`,
        'ERR_JARM_MALFORMED',
        /base64url/,
      )
    })

    test('an empty signature segment (alg none, RFC 8725 §3.1) is ERR_JARM_MALFORMED', async () => {
      const unsecured = `${json({ alg: 'none' })}.${json(claims())}.`
      await rejects(unsecured, 'ERR_JARM_MALFORMED', /not a compact JWS/)
    })

    test('four segments are ERR_JARM_MALFORMED', async () => {
      await rejects(`${jwt({})}.AAAA`, 'ERR_JARM_MALFORMED', /not a compact JWS/)
    })
  })

  describe('RFC 7515 §5.2 (8), RFC 7519 §7.2 (10): JSON objects in UTF-8', () => {
    const payload = json(claims())
    const cases: readonly [string, string, RegExp][] = [
      ['a header that is not JSON', b64('{"alg":"PS256",'), /header is not a JSON object/],
      ['a header that is a JSON array', json(['PS256']), /header is not a JSON object/],
      ['a header that is a JSON string', json('PS256'), /header is not a JSON object/],
      [
        'a header with a byte that is not UTF-8',
        b64(
          Buffer.concat([
            Buffer.from('{"alg":"PS256","kid":"k","x":"'),
            Buffer.from([0xff]),
            Buffer.from('"}'),
          ]),
        ),
        /header is not a JSON object/,
      ],
    ]
    for (const [name, h, message] of cases) {
      test(`${name}, correctly signed, is ERR_JARM_MALFORMED`, async () => {
        await rejects(token(h, payload), 'ERR_JARM_MALFORMED', message)
      })
    }

    test('a payload that is a JSON array, correctly signed, is ERR_JARM_MALFORMED', async () => {
      await rejects(
        token(json({ alg: 'PS256' }), json([claims()])),
        'ERR_JARM_MALFORMED',
        /payload is not a JSON object/,
      )
    })

    test('a payload with a byte that is not UTF-8, correctly signed, is ERR_JARM_MALFORMED', async () => {
      const p = b64(
        Buffer.concat([
          Buffer.from(JSON.stringify(claims()).slice(0, -1) + ',"x":"'),
          Buffer.from([0xc3]),
          Buffer.from('"}'),
        ]),
      )
      await rejects(
        token(json({ alg: 'PS256' }), p),
        'ERR_JARM_MALFORMED',
        /payload is not a JSON object/,
      )
    })
  })

  describe('RFC 8725 §3.1, RFC 7518 §3.1: the algorithm', () => {
    test('alg none with a signature segment is ERR_JARM_ALG_NOT_ALLOWED', async () => {
      const forged = `${json({ alg: 'none' })}.${json(claims())}.${b64('x')}`
      await rejects(forged, 'ERR_JARM_ALG_NOT_ALLOWED', /"alg" must be one of/)
    })

    test('an alg outside the allow-list, correctly signed, is ERR_JARM_ALG_NOT_ALLOWED', async () => {
      const expect = expectations(publicKey('PS256'), { algorithms: ['ES256'] })
      await rejects(jwt({}), 'ERR_JARM_ALG_NOT_ALLOWED', /"alg" must be one of ES256/, expect)
    })

    test('a missing alg is ERR_JARM_ALG_NOT_ALLOWED', async () => {
      await rejects(token(json({ kid: 'k' }), json(claims())), 'ERR_JARM_ALG_NOT_ALLOWED', /"alg"/)
    })
  })

  describe('RFC 7518 §3.3–3.5, RFC 8037: the key fits the algorithm', () => {
    test('"ES256" over an RSA key (an RS256 signature: algorithm confusion) is refused', async () => {
      const rsa = keys.RS256
      const input = `${json({ alg: 'ES256', kid: 'k' })}.${json(claims())}`
      const forged = `${input}.${b64(sign('sha256', Buffer.from(input), rsa.privateKey))}`
      await rejects(
        forged,
        'ERR_JARM_SIGNATURE_INVALID',
        /key does not fit "alg"/,
        expectations(rsa.publicKey),
      )
    })

    test('"PS256" over an EC key (a DER ECDSA signature) is refused', async () => {
      const ec = keys.ES256
      const input = `${json({ alg: 'PS256', kid: 'k' })}.${json(claims())}`
      const forged = `${input}.${b64(sign('sha256', Buffer.from(input), ec.privateKey))}`
      await rejects(
        forged,
        'ERR_JARM_SIGNATURE_INVALID',
        /key does not fit "alg"/,
        expectations(ec.publicKey),
      )
    })

    test('an RSA key under 2048 bits is refused even with a valid PS256 signature', async () => {
      const small = keys['RSA-1024']
      const jws = token(json({ alg: 'PS256', kid: 'k' }), json(claims()), { key: small.privateKey })
      await rejects(
        jws,
        'ERR_JARM_SIGNATURE_INVALID',
        /key does not fit "alg"/,
        expectations(small.publicKey),
      )
    })

    test('a private key where a public one belongs is refused', async () => {
      const expect = expectations(keys.PS256.privateKey)
      await rejects(jwt({}), 'ERR_JARM_SIGNATURE_INVALID', /key does not fit "alg"/, expect)
    })

    test('a P-256 signature checked against a key of another curve is refused', async () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
      await rejects(
        jwt({}, claims(), 'ES256'),
        'ERR_JARM_SIGNATURE_INVALID',
        /key does not fit "alg"/,
        expectations(p384.publicKey),
      )
    })
  })

  describe('RFC 7518 §3.4, §3.5: the signature', () => {
    test('an ES256 signature in DER, not R || S, is refused for its length', async () => {
      const input = `${json({ alg: 'ES256', kid: 'k' })}.${json(claims())}`
      const der = sign('sha256', Buffer.from(input), keys.ES256.privateKey)
      await rejects(
        `${input}.${b64(der)}`,
        'ERR_JARM_SIGNATURE_INVALID',
        /wrong length/,
        expectations(publicKey('ES256')),
      )
    })

    test('a PS256 signature with a leading zero octet added is refused for its length', async () => {
      const good = jwt({})
      const dot = good.lastIndexOf('.')
      const longer = Buffer.concat([Buffer.alloc(1), Buffer.from(good.slice(dot + 1), 'base64url')])
      await rejects(
        `${good.slice(0, dot)}.${b64(longer)}`,
        'ERR_JARM_SIGNATURE_INVALID',
        /wrong length/,
      )
    })

    test('a PS256 signature with a 20-octet salt (not 32) is refused', async () => {
      const jws = token(json({ alg: 'PS256', kid: 'k' }), json(claims()), { salt: 20 })
      await rejects(jws, 'ERR_JARM_SIGNATURE_INVALID', /does not verify/)
    })

    test('a signature by another key of the right type is refused', async () => {
      const other = pair('ES256')
      const jws = token(json({ alg: 'ES256', kid: 'k' }), json(claims()), {
        alg: 'ES256',
        key: other.privateKey,
      })
      await rejects(
        jws,
        'ERR_JARM_SIGNATURE_INVALID',
        /does not verify/,
        expectations(publicKey('ES256')),
      )
    })
  })

  describe('RFC 7519 §4.1: the claims, after the signature', () => {
    const cases: readonly [string, Record<string, unknown>, string, RegExp][] = [
      ['a string nbf', { nbf: 'now' }, 'ERR_JARM_CLAIMS_INVALID', /claim "nbf" is invalid/],
      [
        'an nbf one second ahead',
        { nbf: seconds + 1 },
        'ERR_JARM_CLAIMS_INVALID',
        /claim "nbf" is invalid/,
      ],
      [
        'an exp of now (RFC 7519 §4.1.4: on or after is expired)',
        { exp: seconds },
        'ERR_JARM_EXPIRED',
        /"exp" is in the past/,
      ],
      ['a null exp', { exp: null }, 'ERR_JARM_CLAIMS_INVALID', /claim "exp" is invalid/],
      ['a boolean iat', { iat: true }, 'ERR_JARM_CLAIMS_INVALID', /claim "iat" is invalid/],
      [
        'an aud array without this client',
        { aud: ['other'] },
        'ERR_JARM_AUD_MISMATCH',
        /"aud" is not this client/,
      ],
      [
        'an aud array with another audience',
        { aud: [CLIENT, 'other'] },
        'ERR_JARM_AUD_MISMATCH',
        /audiences other than/,
      ],
      [
        'an iat ahead of the clock',
        { iat: seconds + 5 },
        'ERR_JARM_IAT_IN_FUTURE',
        /"iat" is in the future/,
      ],
    ]
    for (const [name, extra, code, message] of cases) {
      test(`${name} is ${code}`, async () => {
        await rejects(jwt({}, claims(extra)), code, message)
      })
    }

    test('a missing required claim is ERR_*_CLAIMS_INVALID, named', async () => {
      const { exp, ...rest } = claims()
      void exp
      await rejects(jwt({}, rest), 'ERR_JARM_CLAIMS_INVALID', /claim "exp" is missing/)
      const idToken = expectations(publicKey('PS256'), {
        kind: 'ID_TOKEN',
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
      })
      await rejects(jwt({}), 'ERR_ID_TOKEN_CLAIMS_INVALID', /claim "sub" is missing/, idToken)
    })

    test('the clock tolerance applies to exp, nbf and iat, and to nothing more', async () => {
      const tolerant = expectations(publicKey('PS256'), { clockTolerance: 5 })
      const within = claims({ exp: seconds - 4, nbf: seconds + 5, iat: seconds + 5 })
      assert.equal((await verifyJws(jwt({}, within), tolerant)).payload.exp, seconds - 4)
      await rejects(jwt({}, claims({ exp: seconds - 5 })), 'ERR_JARM_EXPIRED', /exp/, tolerant)
      await rejects(
        jwt({}, claims({ nbf: seconds + 6 })),
        'ERR_JARM_CLAIMS_INVALID',
        /nbf/,
        tolerant,
      )
      await rejects(
        jwt({}, claims({ iat: seconds + 6 })),
        'ERR_JARM_IAT_IN_FUTURE',
        /iat/,
        tolerant,
      )
    })
  })
})
