/** Keys generated per run: never a key in the repository. */
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { randomUUID } from 'node:crypto'

export interface KeyPairJwks {
  readonly privateJwk: JWK & { kid: string }
  readonly publicJwk: JWK & { kid: string }
}

export async function generateJwks(
  alg: 'PS256' | 'ES256' | 'EdDSA',
  kid: string = randomUUID(),
): Promise<KeyPairJwks> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    modulusLength: 2048,
  })
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
  }
}
