import assert from 'node:assert/strict'
import { createPublicKey } from 'node:crypto'
import { test } from 'node:test'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { importSigningKey } from '../src/config/keys.js'
import { signJwt } from '../src/core/jwt/sign.js'
import { generateJwks } from './support/keys.js'

for (const alg of ['PS256', 'ES256', 'EdDSA'] as const) {
  test(`RFC 7515 / RFC 7518: our ${alg} signatures verify with jose, header as given`, async () => {
    const { privateJwk } = await generateJwks(alg, `k-${alg}`)
    const key = importSigningKey(privateJwk, 'test', ['PS256', 'ES256', 'EdDSA'])
    const jwt = await signJwt(key, { iss: 'portal', n: 1 }, 'oauth-authz-req+jwt')
    const { payload, protectedHeader } = await jwtVerify(
      jwt,
      createPublicKey({ key: key.publicJwk, format: 'jwk' }),
      {
        algorithms: [alg],
      },
    )
    assert.deepEqual(payload, { iss: 'portal', n: 1 })
    assert.deepEqual(protectedHeader, { alg, kid: `k-${alg}`, typ: 'oauth-authz-req+jwt' })
    const untyped = await signJwt(key, {})
    assert.deepEqual(decodeProtectedHeader(untyped), { alg, kid: `k-${alg}` })
  })
}
