/**
 * The strict parsing of a compact JWS (RFC 7515 §7.1) and its signature check with Node's
 * `crypto.verify`, run in the libuv threadpool, on the KeyObject the JWKS cache imported once per
 * key. The token is decoded once: the header and payload returned here are what the claim checks
 * of `jws.ts` read.
 *
 * @module
 */
import { constants, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto'
import type { JwsAlgorithm } from '../../config/index.js'

/** A compact JWS, decoded, its signature not yet checked. */
export interface ParsedJws {
  readonly header: Readonly<Record<string, unknown>>
  readonly payload: Readonly<Record<string, unknown>>
  /** `BASE64URL(header) || '.' || BASE64URL(payload)`, the bytes the signature covers. */
  readonly signingInput: Buffer
  readonly signature: Buffer
}

/** Why a token is not a well-formed compact JWS. */
export type ParseFailure = 'shape' | 'encoding' | 'header' | 'payload'

/** Why a signature does not verify. */
export type SignatureFailure = 'key-unfit' | 'length' | 'invalid'

/** Three non-empty base64url segments (RFC 7515 §7.1; no padding, RFC 7515 §2). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A JSON object from a base64url segment: strict UTF-8 (RFC 8259 §8.1), no array, no scalar. */
function jsonObject(segment: string): Record<string, unknown> | undefined {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(Buffer.from(segment, 'base64url')))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  return value as Record<string, unknown>
}

/**
 * Decodes a compact JWS: three base64url segments, each of a length base64url can have (never
 * 1 mod 4), the signature in its one canonical encoding, and a header and payload that are JSON
 * objects in valid UTF-8.
 */
export function parseCompactJws(token: string): ParsedJws | ParseFailure {
  if (!COMPACT_JWS.test(token)) return 'shape'
  const first = token.indexOf('.')
  const last = token.lastIndexOf('.')
  const h = token.slice(0, first)
  const p = token.slice(first + 1, last)
  const s = token.slice(last + 1)
  if (h.length % 4 === 1 || p.length % 4 === 1 || s.length % 4 === 1) return 'encoding'
  const signature = Buffer.from(s, 'base64url')
  // Unused trailing bits set would give one signature many spellings (RFC 4648 §3.5).
  if (signature.toString('base64url') !== s) return 'encoding'
  const header = jsonObject(h)
  if (header === undefined) return 'header'
  const payload = jsonObject(p)
  if (payload === undefined) return 'payload'
  return { header, payload, signingInput: Buffer.from(token.slice(0, last), 'latin1'), signature }
}

/** What `crypto.verify` needs for one algorithm, once the key is known to fit it. */
interface Verifier {
  readonly digest: 'sha256' | null
  readonly options: KeyObject | VerifyKeyObjectInput
  /** The exact length of a signature in octets. */
  readonly length: number
}

const fitted = new WeakMap<KeyObject, Map<JwsAlgorithm, Verifier | 'key-unfit'>>()

/**
 * The key's fit for `alg` (RFC 7518 §3.1: the key type the algorithm names; RSA of at least 2048
 * bits, §3.3 and §3.5; P-256 for ES256, §3.4; Ed25519 for EdDSA, RFC 8037 §3.1), computed once
 * per KeyObject and algorithm.
 */
function verifierFor(alg: JwsAlgorithm, key: KeyObject): Verifier | 'key-unfit' {
  let byAlg = fitted.get(key)
  if (byAlg === undefined) {
    byAlg = new Map()
    fitted.set(key, byAlg)
  }
  let verifier = byAlg.get(alg)
  if (verifier === undefined) {
    verifier = fit(alg, key)
    byAlg.set(alg, verifier)
  }
  return verifier
}

function fit(alg: JwsAlgorithm, key: KeyObject): Verifier | 'key-unfit' {
  if (key.type !== 'public') return 'key-unfit'
  const details = key.asymmetricKeyDetails ?? {}
  switch (alg) {
    case 'PS256':
    case 'RS256': {
      const bits = details.modulusLength
      if (key.asymmetricKeyType !== 'rsa' || bits === undefined || bits < 2048) return 'key-unfit'
      // RFC 7518 §3.5: PS256 is RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-octet salt,
      // which OpenSSL then requires exactly; §3.3: RS256 is RSASSA-PKCS1-v1_5.
      const options =
        alg === 'PS256'
          ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
          : { key, padding: constants.RSA_PKCS1_PADDING }
      return { digest: 'sha256', options, length: Math.ceil(bits / 8) }
    }
    case 'ES256':
      if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1') return 'key-unfit'
      // RFC 7518 §3.4: R || S, 32 octets each.
      return { digest: 'sha256', options: { key, dsaEncoding: 'ieee-p1363' }, length: 64 }
    case 'EdDSA':
      // RFC 8037 §3.1: Ed25519 signs the message itself, no digest.
      if (key.asymmetricKeyType !== 'ed25519') return 'key-unfit'
      return { digest: null, options: key, length: 64 }
  }
}

/** Checks the signature of a parsed JWS with `crypto.verify`: `true`, or why not. */
export function verifySignature(
  alg: JwsAlgorithm,
  key: KeyObject,
  jws: ParsedJws,
): Promise<true | SignatureFailure> {
  const verifier = verifierFor(alg, key)
  if (verifier === 'key-unfit') return Promise.resolve('key-unfit')
  if (jws.signature.length !== verifier.length) return Promise.resolve('length')
  return new Promise((resolve) => {
    try {
      verify(verifier.digest, jws.signingInput, verifier.options, jws.signature, (error, valid) =>
        resolve(error === null && valid ? true : 'invalid'),
      )
    } catch {
      resolve('invalid')
    }
  })
}
