/**
 * Our own signatures: request objects and client assertions through the client's signing key
 * (a key in the process or an external signer, chosen at signing time so that a key rotation takes
 * effect at once), and DPoP proofs with the per-login DPoP key. The server's tokens are verified
 * in `verify.ts`.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto'
import type { JwsAlgorithm } from '../../config/index.js'
import { signWithKeyObject, type SigningKey } from '../../config/keys.js'

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** The client's signing key in use right now (it may change between two signatures: rotation). */
export interface SigningKeySource {
  current(): SigningKey
}

/**
 * The signing key a server accepts, chosen at each signature from the keys as they are then
 * (after any `updateKeys()`): the first active one whose algorithm every list of `accepted` holds
 * (one list per use: request objects, client assertions). None: the error `unavailable` makes.
 */
export function acceptedKeySource(
  keys: { readonly signingKeys: readonly SigningKey[] },
  accepted: readonly (readonly string[])[],
  unavailable: () => Error,
): SigningKeySource {
  return Object.freeze({
    current(): SigningKey {
      const key = keys.signingKeys.find(
        (candidate) =>
          candidate.state === 'active' && accepted.every((algs) => algs.includes(candidate.alg)),
      )
      if (key === undefined) throw unavailable()
      return key
    },
  })
}

function isSource(key: SigningKey | SigningKeySource): key is SigningKeySource {
  return typeof (key as Partial<SigningKeySource>).current === 'function'
}

/** A compact JWS of `payload` with `alg` and `kid` (and `typ`, if given) in its header. */
export async function signJwt(
  source: SigningKey | SigningKeySource,
  payload: object,
  typ?: string,
): Promise<string> {
  const key = isSource(source) ? source.current() : source
  const header =
    typ === undefined ? { alg: key.alg, kid: key.kid } : { alg: key.alg, kid: key.kid, typ }
  const input = `${encode(header)}.${encode(payload)}`
  const signature = await key.sign(Buffer.from(input))
  return `${input}.${Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64url')}`
}

/** A compact JWS of `payload` with exactly `header` (whose `alg` must be `alg`). */
export async function signJws(
  alg: JwsAlgorithm,
  privateKey: KeyObject,
  header: object,
  payload: object,
): Promise<string> {
  const input = `${encode(header)}.${encode(payload)}`
  const signature = await signWithKeyObject(alg, privateKey, Buffer.from(input))
  return `${input}.${Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64url')}`
}
