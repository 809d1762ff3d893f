/**
 * JWE for the hostile authorization server: JARM responses and ID tokens encrypted to the client
 * (also wrongly: RSA1_5, an unsigned inner payload, another kid), and the server's own encryption
 * key, to which the client encrypts request objects.
 */
import {
  constants,
  createCipheriv,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import { deflateRawSync } from 'node:zlib'
import { CompactEncrypt, base64url, compactDecrypt, decodeProtectedHeader, type JWK } from 'jose'

/** The server's key for request-object encryption, and its public JWK (`use: enc`). */
export interface ServerEncryptionKey {
  readonly privateKey: KeyObject
  readonly publicJwk: JWK
}

let serverKey: ServerEncryptionKey | undefined

/** One RSA-OAEP-256 key per run. */
export function serverEncryptionKey(): ServerEncryptionKey {
  if (serverKey === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    serverKey = {
      privateKey,
      publicJwk: {
        ...publicKey.export({ format: 'jwk' }),
        kid: 'as-enc-1',
        use: 'enc',
        alg: 'RSA-OAEP-256',
      },
    }
  }
  return serverKey
}

/** How to encrypt a JWT to the client. */
export interface EncryptSpec {
  readonly alg?: 'RSA-OAEP-256' | 'RSA-OAEP' | 'ECDH-ES' | 'RSA1_5'
  readonly enc?: 'A256GCM' | 'A128GCM' | 'A128CBC-HS256'
  /** The kid in the header; default the key's. */
  readonly kid?: string
  /** What is encrypted instead of the signed JWT. */
  readonly inner?: (jwt: string) => string
  /** Compress before encrypting (`zip: DEF`, RFC 7516 §4.1.3), which RFC 8725 §3.6 advises against. */
  readonly zip?: boolean
}

/** A hand-made `RSA-OAEP-256` + `A256GCM` JWE with `zip: DEF` (jose makes none with zip). */
function compressed(plaintext: string, key: KeyObject, kid: string | undefined): string {
  const header = base64url.encode(
    JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'DEF', cty: 'JWT', kid }),
  )
  const cek = randomBytes(32)
  const encryptedKey = publicEncrypt(
    { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    cek,
  )
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', cek, iv)
  cipher.setAAD(Buffer.from(header, 'ascii'))
  const ciphertext = Buffer.concat([cipher.update(deflateRawSync(plaintext)), cipher.final()])
  return [header, encryptedKey, iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.')
}

/** A hand-made `RSA1_5` + `A128CBC-HS256` JWE (RFC 7516; jose no longer makes these). */
function rsa15(plaintext: string, key: KeyObject, kid: string | undefined): string {
  const header = base64url.encode(JSON.stringify({ alg: 'RSA1_5', enc: 'A128CBC-HS256', kid }))
  const cek = randomBytes(32)
  const encryptedKey = publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, cek)
  const iv = randomBytes(16)
  const cipher = createCipheriv('aes-128-cbc', cek.subarray(16), iv)
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const aad = Buffer.from(header, 'ascii')
  const al = Buffer.alloc(8)
  al.writeBigUInt64BE(BigInt(aad.length * 8))
  const tag = createHmac('sha256', cek.subarray(0, 16))
    .update(Buffer.concat([aad, iv, ciphertext, al]))
    .digest()
    .subarray(0, 16)
  return [header, encryptedKey, iv, ciphertext, tag]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.')
}

/** Encrypts `jwt` (or what `spec.inner` makes of it) to the client's public encryption JWK. */
export async function encryptTo(
  jwt: string,
  recipient: JWK,
  spec: EncryptSpec = {},
): Promise<string> {
  const plaintext = spec.inner ? spec.inner(jwt) : jwt
  const key = createPublicKey({ key: recipient as JsonWebKey, format: 'jwk' })
  const kid = spec.kid ?? recipient.kid
  const alg = spec.alg ?? (recipient.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES')
  if (alg === 'RSA1_5') return rsa15(plaintext, key, kid)
  if (spec.zip === true) return compressed(plaintext, key, kid)
  return new CompactEncrypt(Buffer.from(plaintext))
    .setProtectedHeader({ alg, enc: spec.enc ?? 'A256GCM', cty: 'JWT', ...(kid ? { kid } : {}) })
    .encrypt(key)
}

/** Decrypts a request object encrypted to the server; returns its JWE header and the JWS. */
export async function decryptRequestObject(
  jwe: string,
): Promise<{ header: Record<string, unknown>; jws: string }> {
  const header = decodeProtectedHeader(jwe)
  const { plaintext } = await compactDecrypt(jwe, serverEncryptionKey().privateKey, {
    keyManagementAlgorithms: ['RSA-OAEP-256', 'RSA-OAEP'],
  })
  return { header, jws: Buffer.from(plaintext).toString('utf8') }
}
