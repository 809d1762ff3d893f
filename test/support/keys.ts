/** Keys generated per run: never a key in the repository. */
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { randomUUID } from 'node:crypto'

export interface KeyPairJwks {
  readonly privateJwk: JWK & { kid: string }
  readonly publicJwk: JWK & { kid: string }
}

export async function generateJwks(
  alg: 'PS256' | 'ES256' | 'EdDSA' | 'RS256',
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

/** An RSA-OAEP-256 encryption key pair (`use: enc`) for JARM responses and ID tokens. */
export async function generateEncryptionJwks(kid = 'portal-enc'): Promise<KeyPairJwks> {
  const { privateKey, publicKey } = await generateKeyPair('RSA-OAEP-256', {
    extractable: true,
    modulusLength: 2048,
  })
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid },
    publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'enc', alg: 'RSA-OAEP-256' },
  }
}
