/**
 * Secrets sealed at rest: tokens and DPoP private keys that go to the session store (or to the
 * coordination store) are put in a JWE in compact serialization, `alg: dir` and `enc: A256GCM`
 * under an app-held 32-byte key named by `kid` in the protected header, so a dump of the store
 * yields no usable token. The header also carries what the sealed value belongs to (`bnd`), so a
 * sealed value moved to another record does not open. Rotation: the first key seals, every listed
 * key opens.
 *
 * Made and opened with `node:crypto`'s AES-256-GCM on the calling thread. jose makes the same JWE
 * through WebCrypto, which imports the key and queues a threadpool job on every call: about six
 * times the CPU for one pending login or grant record, paid on every login, callback and refresh
 * with sealing on. The output is an ordinary JWE (jose opens it, and values jose sealed open here:
 * the tests hold both), read strictly: five base64url parts, an empty encrypted key, a 96-bit IV,
 * a 128-bit tag, and a header with exactly `alg`, `enc`, `kid` and `bnd` of the expected kinds.
 *
 * @module
 * @see RFC 7516 §3.1, §5.1, §5.2 (compact serialization, encryption, decryption); RFC 7518 §4.5
 * (dir), §5.3 (A256GCM)
 */
import { createCipheriv, createDecipheriv, randomFillSync, type KeyObject } from 'node:crypto'
import type { SessionSecrets } from '../../config/index.js'

/** RFC 7518 §5.3: a 96-bit IV and a 128-bit authentication tag. */
const IV_BYTES = 12
const TAG_BYTES = 16
/** The longest sealed value {@link unseal} reads (a grant record with its tokens fits well). */
const MAX_SEALED = 65_536
const BASE64URL = /^[A-Za-z0-9_-]*$/
/** The members of a sealed value's protected header, in the order {@link seal} writes them. */
const HEADER_MEMBERS = ['alg', 'enc', 'kid', 'bnd']

/** IVs drawn from the CSPRNG in batches, each used once and wiped (as `randomToken` does). */
const ivPool = Buffer.alloc(IV_BYTES * 64)
let nextIv = ivPool.length

function freshIv(): Buffer {
  if (nextIv === ivPool.length) {
    randomFillSync(ivPool)
    nextIv = 0
  }
  const iv = Buffer.from(ivPool.subarray(nextIv, nextIv + IV_BYTES))
  ivPool.fill(0, nextIv, nextIv + IV_BYTES)
  nextIv += IV_BYTES
  return iv
}

/** Seals a JSON value for `binding` with the current key. */
export function seal(secrets: SessionSecrets, value: unknown, binding: string): string {
  const header = Buffer.from(
    JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: secrets.current.kid, bnd: binding }),
    'utf8',
  ).toString('base64url')
  const iv = freshIv()
  const cipher = createCipheriv('aes-256-gcm', secrets.current.key, iv, {
    authTagLength: TAG_BYTES,
  })
  // RFC 7516 §5.1 (14): the additional authenticated data is the encoded protected header.
  cipher.setAAD(Buffer.from(header, 'ascii'))
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
  return `${header}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher
    .getAuthTag()
    .toString('base64url')}`
}

/**
 * Opens a sealed value made for `binding`; `undefined` when it does not open (unknown `kid`, a
 * key dropped from the list, another binding, another algorithm, tampering, a malformed value).
 */
export function unseal(secrets: SessionSecrets, sealed: unknown, binding: string): unknown {
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED) return undefined
  const parts = sealed.split('.')
  if (parts.length !== 5) return undefined
  const [header, encryptedKey, iv, ciphertext, tag] = parts as [
    string,
    string,
    string,
    string,
    string,
  ]
  // `dir`: no encrypted key (RFC 7518 §4.5). Buffer's base64url decoder skips what is not
  // base64url, so the parts are checked first: one sealed value has one spelling.
  if (encryptedKey !== '' || !parts.every((part) => BASE64URL.test(part))) return undefined
  const key = keyOf(secrets, header, binding)
  if (key === undefined) return undefined
  const ivBytes = Buffer.from(iv, 'base64url')
  const tagBytes = Buffer.from(tag, 'base64url')
  if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES })
    decipher.setAAD(Buffer.from(header, 'ascii'))
    decipher.setAuthTag(tagBytes)
    const plaintext = Buffer.concat([
      decipher.update(Buffer.from(ciphertext, 'base64url')),
      decipher.final(),
    ])
    return JSON.parse(plaintext.toString('utf8')) as unknown
  } catch {
    // a tag that does not match (another key, tampering), or a plaintext that is not JSON
    return undefined
  }
}

/**
 * The key a sealed value's protected header names, when the header is exactly what {@link seal}
 * writes for `binding` (no `zip`, no `crit`, nothing else to honour); else `undefined`.
 */
function keyOf(secrets: SessionSecrets, encoded: string, binding: string): KeyObject | undefined {
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined
  const members = header as Record<string, unknown>
  const names = Object.keys(members)
  if (
    names.length !== HEADER_MEMBERS.length ||
    !HEADER_MEMBERS.every((name) => Object.hasOwn(members, name)) ||
    members.alg !== 'dir' ||
    members.enc !== 'A256GCM' ||
    members.bnd !== binding ||
    typeof members.kid !== 'string'
  ) {
    return undefined
  }
  return secrets.byKid.get(members.kid)
}
