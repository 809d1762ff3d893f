/**
 * Keys and JWT minting for the hostile authorization server: the server's own per-run keys, an
 * attacker's keys, and a signer whose every part (claims, header, algorithm, key, final string) a
 * test can tamper with.
 */
import { createHash, generateKeyPair, randomUUID, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import { CompactSign, SignJWT, base64url, type JWK, type JWTPayload } from 'jose'

const generate = promisify(generateKeyPair)

/** The algorithms the hostile server signs with. */
export type ServerAlg = 'PS256' | 'ES256'

/** One signing key: the private half and its published JWK. */
export interface ServerKey {
  readonly alg: ServerAlg
  readonly kid: string
  readonly privateKey: KeyObject
  readonly publicJwk: JWK
}

/** A protected header as a test may rewrite it. */
export type Header = Record<string, unknown> & { alg: string }

/**
 * How a JWT is signed:
 * - `good`: the server's published key for its algorithm (the default);
 * - `none`: unsecured, `header.payload.` (RFC 7519 §6); `none-with-signature`: the same with a
 *   non-empty third segment;
 * - `HS256`: an HMAC with a guessable secret; `RS256`: the server's own RSA key, but RS256;
 * - `other-key`: an attacker key of the right type that carries the server key's `kid`;
 * - `attacker`: an attacker key with the attacker's own `kid` (combine with a `jwk`, `jku` or
 *   `x5u` header).
 */
export type SignMode =
  'good' | 'none' | 'none-with-signature' | 'HS256' | 'RS256' | 'other-key' | 'attacker'

/** A tampering of one minted JWT. */
export interface JwtMutation {
  readonly claims?: (claims: JWTPayload) => JWTPayload
  readonly header?: (header: Header) => Header
  readonly sign?: SignMode
  readonly raw?: (jwt: string) => string
  /** Rewrites the payload's JSON text before signing (numbers JSON.stringify cannot write). */
  readonly payloadText?: (json: string) => string
}

/** A fresh key pair for an algorithm. */
export async function newServerKey(alg: ServerAlg, kid: string = randomUUID()): Promise<ServerKey> {
  const { privateKey, publicKey } =
    alg === 'PS256'
      ? await generate('rsa', { modulusLength: 2048 })
      : await generate('ec', { namedCurve: 'P-256' })
  const exported = publicKey.export({ format: 'jwk' })
  return { alg, kid, privateKey, publicJwk: { ...exported, kid, alg, use: 'sig' } }
}

export type KeySet = Readonly<Record<ServerAlg, ServerKey>>

async function keySet(prefix: string): Promise<KeySet> {
  const [ps, es] = await Promise.all([
    newServerKey('PS256', `${prefix}-rsa-${randomUUID()}`),
    newServerKey('ES256', `${prefix}-ec-${randomUUID()}`),
  ])
  return { PS256: ps, ES256: es }
}

let serverKeys: Promise<KeySet> | undefined
let attackerKeys: Promise<KeySet> | undefined

/** The server's keys, generated once per test run (RSA generation is slow). */
export function runServerKeys(): Promise<KeySet> {
  serverKeys ??= keySet('as')
  return serverKeys
}

/** Keys of an attacker, also once per run. */
export function runAttackerKeys(): Promise<KeySet> {
  attackerKeys ??= keySet('attacker')
  return attackerKeys
}

const HMAC_SECRET = new TextEncoder().encode('a-secret-anyone-could-guess-0123456789')

function encodeJson(value: unknown): string {
  return base64url.encode(JSON.stringify(value))
}

/** Signs `claims` with `key` unless the mutation says otherwise. */
export async function mintJwt(
  claims: JWTPayload,
  key: ServerKey,
  attacker: ServerKey,
  rsaKey: ServerKey,
  mutation: JwtMutation = {},
  baseHeader: Record<string, unknown> = {},
): Promise<string> {
  const payload = mutation.claims ? mutation.claims({ ...claims }) : claims
  const mode = mutation.sign ?? 'good'
  let signer: KeyObject | Uint8Array = key.privateKey
  let header: Header = { ...baseHeader, alg: key.alg, kid: key.kid }
  if (mode === 'none' || mode === 'none-with-signature') header = { ...baseHeader, alg: 'none' }
  if (mode === 'HS256') [header, signer] = [{ ...header, alg: 'HS256' }, HMAC_SECRET]
  if (mode === 'RS256') [header, signer] = [{ alg: 'RS256', kid: rsaKey.kid }, rsaKey.privateKey]
  if (mode === 'other-key') signer = attacker.privateKey
  if (mode === 'attacker')
    [header, signer] = [{ alg: key.alg, kid: attacker.kid }, attacker.privateKey]
  if (mutation.header) header = mutation.header({ ...header })
  let jwt: string
  if (header.alg === 'none') {
    const signature = mode === 'none-with-signature' ? base64url.encode('unsigned') : ''
    jwt = `${encodeJson(header)}.${encodeJson(payload)}.${signature}`
  } else if (mutation.payloadText) {
    const text = mutation.payloadText(JSON.stringify(payload))
    jwt = await new CompactSign(new TextEncoder().encode(text))
      .setProtectedHeader(header)
      .sign(signer)
  } else {
    jwt = await new SignJWT(payload).setProtectedHeader(header).sign(signer)
  }
  return mutation.raw ? mutation.raw(jwt) : jwt
}

/** `at_hash`: the left half of SHA-256 of the access token (PS256, ES256), base64url. */
export function atHash(accessToken: string): string {
  return createHash('sha256')
    .update(accessToken, 'ascii')
    .digest()
    .subarray(0, 16)
    .toString('base64url')
}

/** BASE64URL(SHA256(verifier)) (RFC 7636 §4.2). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}

/** The header segment of a JWT replaced by `header`: the signature no longer matters. */
export function withHeader(jwt: string, header: Record<string, unknown>): string {
  const [, payload, signature] = jwt.split('.')
  return `${encodeJson(header)}.${payload ?? ''}.${signature ?? ''}`
}

/** A base64url JSON segment, for hand-made malformed JWTs. */
export function segment(value: unknown): string {
  return encodeJson(value)
}

/** The claims without some of them. */
export function without(claims: JWTPayload, ...names: string[]): JWTPayload {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !names.includes(name)))
}

/** The claims with one set to a value of any JSON type (JWTPayload types registered claims). */
export function withClaim(claims: JWTPayload, name: string, value: unknown): JWTPayload {
  return Object.fromEntries([
    ...Object.entries(claims).filter(([key]) => key !== name),
    [name, value],
  ])
}
