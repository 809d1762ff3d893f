/**
 * ECDSA signatures in the two encodings that meet here: DER (`Ecdsa-Sig-Value ::= SEQUENCE { r
 * INTEGER, s INTEGER }`, RFC 3279 §2.2.3), which most KMSs and HSM front-ends return, and the JOSE
 * form, `R || S` as two fixed-length big-endian octet strings (RFC 7518 §3.4).
 *
 * @module
 */

/** The octet length of R and of S per JWS algorithm (RFC 7518 §3.4). */
const COMPONENT_LENGTH = { ES256: 32, ES384: 48, ES512: 66 } as const

/** An ECDSA JWS algorithm whose DER signatures {@link derToJose} converts. */
export type EcdsaAlgorithm = keyof typeof COMPONENT_LENGTH

function malformed(why: string): never {
  throw new TypeError(`express-fapi: the DER ECDSA signature is malformed: ${why}`)
}

/** Reads a DER length at `at`: short form, or long form of one or two octets. */
function readLength(der: Uint8Array, at: number): { length: number; next: number } {
  const first = der[at]
  if (first === undefined) malformed('it ends inside a length')
  if (first < 0x80) return { length: first, next: at + 1 }
  const octets = first & 0x7f
  if (octets === 0 || octets > 2) malformed('a length has an unsupported form')
  let length = 0
  for (let i = 1; i <= octets; i += 1) {
    const octet = der[at + i]
    if (octet === undefined) malformed('it ends inside a length')
    length = length * 256 + octet
  }
  // DER: the shortest form only.
  if (length < 0x80 || (octets === 2 && length < 0x100)) malformed('a length is not minimal')
  return { length, next: at + 1 + octets }
}

/** Reads one INTEGER at `at` into `out` (right-aligned, `size` octets). */
function readInteger(der: Uint8Array, at: number, out: Uint8Array, size: number): number {
  if (der[at] !== 0x02) malformed('an INTEGER is expected')
  const { length, next } = readLength(der, at + 1)
  if (length === 0) malformed('an INTEGER is empty')
  const end = next + length
  if (end > der.length) malformed('an INTEGER runs past the end')
  let start = next
  const first = der[start] as number
  if (first & 0x80) malformed('an INTEGER is negative')
  if (first === 0) {
    // A leading zero is allowed only before an octet with its high bit set (DER minimality).
    if (length > 1 && !((der[start + 1] as number) & 0x80)) malformed('an INTEGER is not minimal')
    start += 1
  }
  const value = der.subarray(start, end)
  if (value.length > size) malformed(`an INTEGER is longer than ${size} octets`)
  out.set(value, size - value.length)
  return end
}

/**
 * Converts a DER-encoded ECDSA signature (what AWS KMS `Sign`, Google Cloud KMS, Azure Key Vault's
 * SDKs for some key types, and OpenSSL return) into the JWS form `R || S`, each padded with leading
 * zeros to the curve's size: 64 octets for ES256. Throws a `TypeError` on anything but one exact,
 * minimal `SEQUENCE` of two non-negative INTEGERs that fit the curve.
 *
 * @example
 * ```ts
 * import { derToJose } from 'express-fapi'
 * const { Signature } = await kms.send(new SignCommand({ KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))
 * const jose = derToJose(Signature, 'ES256') // 64 octets
 * ```
 * @see RFC 7518 §3.4; RFC 3279 §2.2.3
 */
export function derToJose(der: Uint8Array, alg: EcdsaAlgorithm = 'ES256'): Uint8Array {
  const size = COMPONENT_LENGTH[alg]
  if (size === undefined) throw new TypeError(`express-fapi: derToJose: unknown alg "${alg}"`)
  if (!(der instanceof Uint8Array)) malformed('it is not a Uint8Array')
  if (der[0] !== 0x30) malformed('a SEQUENCE is expected')
  const { length, next } = readLength(der, 1)
  if (next + length !== der.length) malformed('the SEQUENCE length does not match the input')
  const jose = new Uint8Array(size * 2)
  const afterR = readInteger(der, next, jose.subarray(0, size), size)
  const afterS = readInteger(der, afterR, jose.subarray(size), size)
  if (afterS !== der.length) malformed('something follows S')
  return jose
}
