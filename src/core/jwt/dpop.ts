/**
 * DPoP (RFC 9449): a key pair per login, kept with the session as a private JWK (plain data any
 * session store can serialise); proofs for the PAR, token and resource requests; the server's
 * nonces, remembered per origin in a bounded cache.
 *
 * @module
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPair,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import { promisify } from 'node:util'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { Coordination } from '../../config/index.js'
import { randomToken } from './random.js'
import { signJws } from './sign.js'

/** The algorithms a DPoP key signs with, most preferred first (ES256: small and fast). */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'PS256'] as const

/** A DPoP signing algorithm. */
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number]

/** One login's DPoP key: plain data for the session. */
export interface DpopKey {
  readonly alg: DpopAlgorithm
  /** The private JWK (EC P-256, Ed25519 or RSA), without `kid`. */
  readonly jwk: Readonly<Record<string, string>>
}

/** The public members of a JWK, by key type (RFC 7638 §3.2 lists the same). */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
  RSA: ['kty', 'n', 'e'],
}

const generate = promisify(generateKeyPair)

/**
 * A new key pair for one login, generated off the event loop (libuv's thread pool): an RSA key
 * takes tens of milliseconds of CPU, which anonymous login requests must not take from the others.
 */
export async function createDpopKey(alg: DpopAlgorithm): Promise<DpopKey> {
  const { privateKey }: { privateKey: KeyObject } =
    alg === 'ES256'
      ? await generate('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? await generate('ed25519')
        : await generate('rsa', { modulusLength: 2048 })
  const jwk: Record<string, string> = {}
  for (const [name, value] of Object.entries(privateKey.export({ format: 'jwk' }))) {
    if (typeof value === 'string') jwk[name] = value
  }
  return { alg, jwk }
}

/** Narrows untrusted session content to a DPoP key. */
export function isDpopKey(value: unknown): value is DpopKey {
  if (typeof value !== 'object' || value === null) return false
  const { alg, jwk } = value as Record<string, unknown>
  if (!(DPOP_ALGORITHMS as readonly unknown[]).includes(alg)) return false
  if (typeof jwk !== 'object' || jwk === null) return false
  const members = PUBLIC_MEMBERS[String((jwk as Record<string, unknown>).kty)]
  return (
    members !== undefined &&
    [...members, 'd'].every((name) => typeof (jwk as Record<string, unknown>)[name] === 'string')
  )
}

/** The public JWK of a DPoP key: only the members that define the key. */
export function dpopPublicJwk(key: DpopKey): JWK {
  const members = PUBLIC_MEMBERS[key.jwk.kty ?? ''] ?? []
  return Object.fromEntries(members.map((name) => [name, key.jwk[name] ?? '']))
}

/** The JWK SHA-256 thumbprint of the key (RFC 7638): `dpop_jkt` (RFC 9449 §10). */
export function dpopThumbprint(key: DpopKey): Promise<string> {
  return calculateJwkThumbprint(dpopPublicJwk(key), 'sha256')
}

/** The `htu` of a request: its URL without query and fragment (RFC 9449 §4.2). */
export function htu(url: string): string {
  const target = new URL(url)
  target.search = ''
  target.hash = ''
  return target.href
}

/** `ath`: the base64url SHA-256 of the access token (RFC 9449 §4.2). */
export function ath(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url')
}

/**
 * A DPoP proof (RFC 9449 §4.2): header `typ: dpop+jwt`, `alg` and the public `jwk`; claims a
 * fresh `jti`, `htm`, `htu`, `iat`, and `nonce` and `ath` when given. `now` is in milliseconds.
 */
export function dpopProof(
  key: DpopKey,
  request: { method: string; url: string; now: number; nonce?: string; accessToken?: string },
): Promise<string> {
  const privateKey = createPrivateKey({ key: key.jwk as JsonWebKey, format: 'jwk' })
  return signJws(
    key.alg,
    privateKey,
    { typ: 'dpop+jwt', alg: key.alg, jwk: dpopPublicJwk(key) },
    {
      jti: randomToken(),
      htm: request.method.toUpperCase(),
      htu: htu(request.url),
      iat: Math.floor(request.now / 1000),
      ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
      ...(request.accessToken === undefined ? {} : { ath: ath(request.accessToken) }),
    },
  )
}

/** RFC 9449 §8.1: a nonce is `1*NQCHAR`; longer values than this are not remembered. */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/

/** How long a nonce is shared with other instances (ms); servers rotate theirs more often. */
const NONCE_TTL = 300_000

/**
 * The last `DPoP-Nonce` each server gave (RFC 9449 §8, §9), by (authorization server, origin):
 * sent in the next proof to that origin for that server's logins. Two servers on one origin, or
 * the clients of two servers sharing a coordination store, never see each other's nonces.
 * Bounded: the least recently set key is forgotten first. With a coordination store, nonces are
 * shared by every instance of the client; the store is only a help here (a missing or stale
 * nonce costs one `use_dpop_nonce` retry), so its failures fall back to this process's nonces.
 */
export class DpopNonces {
  readonly #nonces = new Map<string, string>()
  readonly #capacity: number
  readonly #shared: Coordination | undefined
  readonly #server: string

  /** `server`: the issuer of the authorization server these nonces are for. */
  constructor(shared?: Coordination, capacity = 256, server = '') {
    this.#shared = shared
    this.#capacity = capacity
    this.#server = server
  }

  /** The key of the nonce of `url`: the server, then the origin (an issuer has no fragment). */
  #keyOf(url: string): string {
    return `${this.#server}#${new URL(url).origin}`
  }

  /** The nonce to send to the origin of `url`, if one is known. */
  async get(url: string): Promise<string | undefined> {
    const key = this.#keyOf(url)
    if (this.#shared !== undefined) {
      const shared = await this.#shared.get(`dpop-nonce:${key}`).catch(() => undefined)
      if (shared !== undefined && NONCE.test(shared)) return shared
    }
    return this.#nonces.get(key)
  }

  /** Remembers the `DPoP-Nonce` header of a response from `url`, if it is a valid nonce. */
  remember(url: string, header: string | undefined): void {
    if (header === undefined || !NONCE.test(header)) return
    const key = this.#keyOf(url)
    this.#shared?.set(`dpop-nonce:${key}`, header, NONCE_TTL).catch(() => undefined)
    this.#nonces.delete(key)
    this.#nonces.set(key, header)
    for (const oldest of this.#nonces.keys()) {
      if (this.#nonces.size <= this.#capacity) break
      this.#nonces.delete(oldest)
    }
  }
}
