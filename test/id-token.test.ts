/**
 * ID token validation (OIDC Core §3.1.3.7, §2; RFC 8725): each tampering of the ID token the hostile
 * server mints is a 502 with its ERR_ID_TOKEN_* code, no handler call, no session, and a consumed
 * pending login.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { JWTPayload } from 'jose'
import type { FapiErrorCode } from '../src/index.js'
import { segment, withClaim, without, type JwtMutation } from './support/hostile-jwt.js'
import {
  CLIENT_ID,
  expectLogin,
  expectRejectedAfterTransaction,
  login,
  setup,
} from './support/hostile-fixture.js'

const seconds = () => Math.floor(Date.now() / 1000)

function claims(change: (c: JWTPayload) => JWTPayload): JwtMutation {
  return { claims: change }
}

const CASES: readonly [string, JwtMutation, FapiErrorCode][] = [
  [
    '§3.1.3.7 (10): rejects an ID token whose iat is a week old (idTokenMaxAge)',
    claims((c) => ({ ...c, iat: seconds() - 7 * 86_400 })),
    'ERR_ID_TOKEN_IAT_TOO_OLD',
  ],
  [
    '§3.1.3.7 (6): rejects an unsigned (alg none) ID token',
    { sign: 'none' },
    'ERR_ID_TOKEN_MALFORMED',
  ],
  [
    '§3.1.3.7 (6), RFC 8725 §3.1: rejects alg none with a signature segment',
    { sign: 'none-with-signature' },
    'ERR_ID_TOKEN_ALG_NOT_ALLOWED',
  ],
  ['§3.1.3.7 (7): rejects an HS256 ID token', { sign: 'HS256' }, 'ERR_ID_TOKEN_ALG_NOT_ALLOWED'],
  [
    '§3.1.3.7 (7), FAPI 1.0 Adv §8.6: rejects an RS256 ID token',
    { sign: 'RS256' },
    'ERR_ID_TOKEN_ALG_NOT_ALLOWED',
  ],
  [
    '§3.1.3.7 (6): rejects a bad signature (other key, same kid)',
    { sign: 'other-key' },
    'ERR_ID_TOKEN_SIGNATURE_INVALID',
  ],
  [
    '§3.1.3.7 (6), §10.1.1: rejects a kid the server does not publish',
    { sign: 'attacker' },
    'ERR_ID_TOKEN_KEY_NOT_FOUND',
  ],
  [
    '§3.1.3.7 (6): rejects a payload changed after signing',
    {
      raw: (jwt) => {
        const [header, payload, signature] = jwt.split('.')
        const decoded = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as object
        return `${header}.${segment({ ...decoded, sub: 'admin' })}.${signature}`
      },
    },
    'ERR_ID_TOKEN_SIGNATURE_INVALID',
  ],
  [
    '§3.1.3.7 (2): rejects an iss of another issuer',
    claims((c) => ({ ...c, iss: 'https://evil.example' })),
    'ERR_ID_TOKEN_ISS_MISMATCH',
  ],
  [
    '§3.1.3.7 (2), §2: rejects an ID token without iss',
    claims((c) => without(c, 'iss')),
    'ERR_ID_TOKEN_ISS_MISMATCH',
  ],
  [
    '§3.1.3.7 (3): rejects an aud of another client',
    claims((c) => ({ ...c, aud: 'other-client' })),
    'ERR_ID_TOKEN_AUD_MISMATCH',
  ],
  [
    '§3.1.3.7 (3): rejects an extra untrusted audience',
    claims((c) => ({ ...c, aud: [CLIENT_ID, 'other-client'], azp: CLIENT_ID })),
    'ERR_ID_TOKEN_AUD_MISMATCH',
  ],
  [
    '§3.1.3.7 (3), §2: rejects an ID token without aud',
    claims((c) => without(c, 'aud')),
    'ERR_ID_TOKEN_CLAIMS_INVALID',
  ],
  [
    '§3.1.3.7 (5): rejects an azp of another client',
    claims((c) => ({ ...c, azp: 'other-client' })),
    'ERR_ID_TOKEN_AZP_MISMATCH',
  ],
  [
    '§3.1.3.7 (9): rejects an expired ID token',
    claims((c) => ({ ...c, exp: seconds() - 60, iat: seconds() - 360 })),
    'ERR_ID_TOKEN_EXPIRED',
  ],
  [
    '§3.1.3.7 (9), §2: rejects an ID token without exp',
    claims((c) => without(c, 'exp')),
    'ERR_ID_TOKEN_CLAIMS_INVALID',
  ],
  [
    '§3.1.3.7 (10): rejects an iat in the future',
    claims((c) => ({ ...c, iat: seconds() + 120, exp: seconds() + 600 })),
    'ERR_ID_TOKEN_IAT_IN_FUTURE',
  ],
  [
    '§3.1.3.7 (10), §2: rejects an ID token without iat',
    claims((c) => without(c, 'iat')),
    'ERR_ID_TOKEN_CLAIMS_INVALID',
  ],
  [
    '§2: rejects an ID token without sub',
    claims((c) => without(c, 'sub')),
    'ERR_ID_TOKEN_CLAIMS_INVALID',
  ],
  ['§2: rejects an empty sub', claims((c) => ({ ...c, sub: '' })), 'ERR_ID_TOKEN_CLAIMS_INVALID'],
  [
    '§2: rejects a non-string sub',
    claims((c) => withClaim(c, 'sub', 42)),
    'ERR_ID_TOKEN_CLAIMS_INVALID',
  ],
  [
    '§3.1.3.7 (11): rejects a nonce that differs',
    claims((c) => ({ ...c, nonce: 'other-nonce' })),
    'ERR_ID_TOKEN_NONCE_MISMATCH',
  ],
  [
    '§3.1.3.7 (11): rejects an ID token without nonce',
    claims((c) => without(c, 'nonce')),
    'ERR_ID_TOKEN_NONCE_MISMATCH',
  ],
  [
    '§3.1.3.8: rejects an at_hash that does not match the access token',
    claims((c) => ({ ...c, at_hash: 'AAAAAAAAAAAAAAAAAAAAAA' })),
    'ERR_ID_TOKEN_AT_HASH_MISMATCH',
  ],
]

for (const [name, mutation, code] of CASES) {
  test(`OIDC Core ${name}`, async (t) => {
    const fx = await setup(t)
    fx.as.idToken = mutation
    await expectRejectedAfterTransaction(fx, await login(fx), 502, code)
  })
}

test('OIDC Core §3.1.3.7 (7): rejects an alg the server does not advertise for ID tokens', async (t) => {
  const fx = await setup(t)
  fx.as.metadata = (m) => ({ ...m, id_token_signing_alg_values_supported: ['ES256'] })
  await expectRejectedAfterTransaction(fx, await login(fx), 502, 'ERR_ID_TOKEN_ALG_NOT_ALLOWED')
})

test('OIDC Core §3.1.3.7 (11): rejects the nonce of another pending login of the same browser', async (t) => {
  const fx = await setup(t)
  const first = await login(fx)
  const second = await login(fx)
  fx.as.idToken = claims((c) => ({ ...c, nonce: second.request.nonce }))
  await expectRejectedAfterTransaction(fx, first, 502, 'ERR_ID_TOKEN_NONCE_MISMATCH')
})

test('RFC 8725 §3.11: the JARM response JWT is not accepted as an ID token', async (t) => {
  const fx = await setup(t)
  const response = await login(fx)
  fx.as.token = (reply) => ({ ...reply, body: { ...reply.body, id_token: response.jwt } })
  await expectRejectedAfterTransaction(fx, response, 502, 'ERR_ID_TOKEN_CLAIMS_INVALID')
})

test('OIDC Core §3.1.3.7 (6): an ES256 ID token from an ES256 server is accepted', async (t) => {
  const fx = await setup(t, { alg: 'ES256' })
  await expectLogin(fx, await login(fx))
})

test('OIDC Core §3.1.3.7 (3)–(5): aud [client_id] with azp = client_id is accepted', async (t) => {
  const fx = await setup(t)
  fx.as.idToken = claims((c) => ({ ...c, aud: [CLIENT_ID], azp: CLIENT_ID }))
  await expectLogin(fx, await login(fx))
  assert.equal(fx.app.logins[0]?.claims.sub, 'user-1')
})

test('OIDC Core §3.1.3.8: an ID token without at_hash is accepted (code flow)', async (t) => {
  const fx = await setup(t)
  fx.as.idToken = claims((c) => without(c, 'at_hash'))
  await expectLogin(fx, await login(fx))
})
