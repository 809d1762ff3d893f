/**
 * Our own signatures (request objects, client assertions) with Node's `crypto.sign`, run in the
 * libuv threadpool, on the KeyObject imported at startup. The server's tokens are verified the
 * same way, in `verify.ts`.
 *
 * @module
 */
import { constants, sign, type KeyObject } from 'node:crypto'
import type { JwsAlgorithm } from '../../config/index.js'
import type { SigningKey } from '../../config/keys.js'

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** A compact JWS of `payload` with `alg` and `kid` (and `typ`, if given) in its header. */
export function signJwt(key: SigningKey, payload: object, typ?: string): Promise<string> {
  const header =
    typ === undefined ? { alg: key.alg, kid: key.kid } : { alg: key.alg, kid: key.kid, typ }
  return signJws(key.alg, key.privateKey, header, payload)
}

/** A compact JWS of `payload` with exactly `header` (whose `alg` must be `alg`). */
export function signJws(
  alg: JwsAlgorithm,
  privateKey: KeyObject,
  header: object,
  payload: object,
): Promise<string> {
  const input = `${encode(header)}.${encode(payload)}`
  // RFC 7518 §3.5: PS256 is RSASSA-PSS with SHA-256, MGF1 SHA-256 and a 32-octet salt; §3.4:
  // ES256 signatures are R || S (IEEE P1363); §3.3: RS256 is RSASSA-PKCS1-v1_5; RFC 8037:
  // Ed25519 takes no digest.
  const options =
    alg === 'PS256'
      ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : alg === 'ES256'
        ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
        : privateKey
  return new Promise((resolve, reject) => {
    sign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), options, (error, signature) =>
      error ? reject(error) : resolve(`${input}.${signature.toString('base64url')}`),
    )
  })
}
