/**
 * The floor's JWT code: Node's own crypto, asynchronous (`crypto.sign` / `crypto.verify` with a
 * callback run in the libuv threadpool), with cached KeyObjects. Used by the hand-written floor
 * routes and by the raw crypto probe; not by express-fapi.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'

export type Alg = 'PS256' | 'ES256'
export const ALGS: readonly Alg[] = ['PS256', 'ES256']

/** A private JWK with the members the bench needs. */
export interface PrivateJwk extends JsonWebKey {
  kid: string
  alg: Alg
}

/** A fresh key pair for `alg`, as JWKs with a kid (RSA-2048 for PS256, P-256 for ES256). */
export function generateJwkPair(
  alg: Alg,
  kid: string,
): { privateJwk: PrivateJwk; publicJwk: JsonWebKey } {
  const pair =
    alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const privateJwk = { ...pair.privateKey.export({ format: 'jwk' }), kid, alg }
  const publicJwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }
  return { privateJwk, publicJwk }
}

export function privateKeyOf(jwk: JsonWebKey): KeyObject {
  return createPrivateKey({ key: jwk, format: 'jwk' })
}

export function publicKeyOf(jwk: JsonWebKey): KeyObject {
  return createPublicKey({ key: jwk, format: 'jwk' })
}

export function randomToken(): string {
  return randomBytes(32).toString('base64url')
}

function keyOptions(alg: Alg, key: KeyObject) {
  return alg === 'PS256'
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
    : { key, dsaEncoding: 'ieee-p1363' as const }
}

/** `crypto.sign` in the threadpool, as a promise. */
export function signAsync(alg: Alg, key: KeyObject, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign('sha256', data, keyOptions(alg, key), (error, signature) =>
      error ? reject(error) : resolve(signature),
    )
  })
}

/** `crypto.verify` in the threadpool, as a promise. */
export function verifyAsync(alg: Alg, key: KeyObject, data: Buffer, sig: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => {
    verify('sha256', data, keyOptions(alg, key), sig, (error, ok) =>
      error ? reject(error) : resolve(ok),
    )
  })
}

function encodeJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** A compact JWS of `payload` signed with `crypto.sign`. */
export async function signJwtNode(
  alg: Alg,
  key: KeyObject,
  header: Record<string, string>,
  payload: object,
): Promise<string> {
  const input = `${encodeJson({ ...header, alg })}.${encodeJson(payload)}`
  const signature = await signAsync(alg, key, Buffer.from(input))
  return `${input}.${signature.toString('base64url')}`
}

/** The payload of a compact JWS, unverified (for the bench's own bookkeeping only). */
export function decodePayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? ''
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  if (typeof value !== 'object' || value === null) throw new Error('JWT payload is not an object')
  return value as Record<string, unknown>
}

/**
 * The floor's verification: compact shape, `alg` equal to the expected one, key by `kid`, the
 * signature, then `iss`, `aud` (exactly one, this client) and `exp`. Returns the payload.
 */
export async function verifyJwtNode(
  jwt: string,
  expect: { alg: Alg; keys: ReadonlyMap<string, KeyObject>; issuer: string; audience: string },
): Promise<Record<string, unknown>> {
  const parts = jwt.split('.')
  if (parts.length !== 3) throw new Error('not a compact JWS')
  const [h, p, s] = parts as [string, string, string]
  const header: unknown = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'))
  if (typeof header !== 'object' || header === null) throw new Error('bad header')
  const { alg, kid } = header as { alg?: unknown; kid?: unknown }
  if (alg !== expect.alg || typeof kid !== 'string') throw new Error('alg or kid not accepted')
  const key = expect.keys.get(kid)
  if (key === undefined) throw new Error('unknown kid')
  const ok = await verifyAsync(
    expect.alg,
    key,
    Buffer.from(`${h}.${p}`),
    Buffer.from(s, 'base64url'),
  )
  if (!ok) throw new Error('bad signature')
  const payload = decodePayload(jwt)
  if (payload.iss !== expect.issuer) throw new Error('iss')
  if (payload.aud !== expect.audience) throw new Error('aud')
  if (typeof payload.exp !== 'number' || payload.exp < Date.now() / 1000) throw new Error('exp')
  return payload
}
