/**
 * Sender-constrained tokens at the hostile authorization server: what a strict server (and a
 * certification tester) checks in a client's DPoP proofs (RFC 9449 §4.3), its server-nonce
 * handling (§8, §9), its client certificate (RFC 8705), and a protected resource that accepts a
 * token only with the proof or certificate it is bound to. Every proof is recorded for tests.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify, type JWK, type JWTPayload } from 'jose'
import type { Reply } from './hostile-http.js'

/** A DPoP proof the server received. */
export interface ProofRecord {
  readonly path: string
  readonly method: string
  readonly header: Record<string, unknown>
  readonly payload: JWTPayload
  readonly thumbprint: string
}

/** One request's connection: which server (main or mTLS alias) and the client certificate. */
export interface ConnectionRecord {
  readonly path: string
  readonly via: 'main' | 'alias'
  /** SHA-256 thumbprint of the client certificate, base64url (`x5t#S256`). */
  readonly certificate: string | undefined
  readonly subject: string | undefined
}

/** What a token is bound to. */
export interface TokenBinding {
  readonly jkt?: string
  readonly certificate?: string
}

/** How the server treats DPoP nonces. */
export interface NoncePolicy {
  /** Demand a nonce at these paths (`/par`, `/token`, `/userinfo`). */
  readonly paths: ReadonlySet<string>
  /** Keep demanding even after a proof with the current nonce (a broken server). */
  readonly always?: boolean
  /** Leave out the DPoP-Nonce header of the demand (a broken server). */
  readonly withoutHeader?: boolean
}

const ALGORITHMS = ['ES256', 'EdDSA', 'PS256']
const MAX = 10_000

export function certificateOf(req: IncomingMessage): {
  thumbprint?: string | undefined
  subject?: string | undefined
} {
  const socket = req.socket as Partial<TLSSocket>
  const peer = socket.getPeerCertificate?.()
  if (peer === undefined || peer === null || !('raw' in peer) || !Buffer.isBuffer(peer.raw)) {
    return {}
  }
  return {
    thumbprint: createHash('sha256').update(peer.raw).digest('base64url'),
    subject: typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined,
  }
}

export class Bindings {
  readonly proofs: ProofRecord[] = []
  readonly connections: ConnectionRecord[] = []
  readonly tokens = new Map<string, TokenBinding>()
  /** The current nonce; tests may change it. */
  nonce = randomBytes(16).toString('base64url')
  policy: NoncePolicy = { paths: new Set() }
  readonly #jtis = new Set<string>()
  readonly #violation: (message: string) => void
  readonly #now: () => number

  constructor(violation: (message: string) => void, now: () => number) {
    this.#violation = violation
    this.#now = now
  }

  connection(req: IncomingMessage, path: string, via: 'main' | 'alias'): ConnectionRecord {
    const { thumbprint, subject } = certificateOf(req)
    const record = { path, via, certificate: thumbprint, subject }
    if (this.connections.length < MAX) this.connections.push(record)
    return record
  }

  /**
   * Checks the request's DPoP proof, if any: signature with the embedded key, `typ`, `htm`,
   * `htu` (the URL without query), a recent `iat`, a unique `jti`, `ath` for a token, and the
   * nonce where the policy demands one. Returns the key thumbprint, a reply that refuses the
   * request, or undefined when there is no proof.
   */
  async proof(
    req: IncomingMessage,
    url: string,
    path: string,
    accessToken?: string,
  ): Promise<{ thumbprint: string } | { reply: Reply } | undefined> {
    const header = req.headers.dpop
    if (header === undefined) return undefined
    if (typeof header !== 'string') return this.#refuse(`${path}: several DPoP headers`)
    let payload: JWTPayload
    let protectedHeader: Record<string, unknown>
    try {
      ;({ payload, protectedHeader } = await jwtVerify(header, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ALGORITHMS,
        currentDate: new Date(this.#now()),
        clockTolerance: 60,
      }))
    } catch (error) {
      return this.#refuse(`${path}: DPoP proof does not verify: ${String(error)}`)
    }
    const jwk = protectedHeader.jwk as JWK
    const thumbprint = await calculateJwkThumbprint(jwk, 'sha256')
    if (this.proofs.length < MAX) {
      this.proofs.push({
        path,
        method: req.method ?? '',
        header: protectedHeader,
        payload,
        thumbprint,
      })
    }
    const target = new URL(url)
    target.search = ''
    const seconds = this.#now() / 1000
    const problem = [
      ['d' in jwk ? 'private key in the proof' : undefined],
      [payload.htm === req.method ? undefined : 'htm differs from the method'],
      [
        payload.htu === target.href
          ? undefined
          : `htu ${String(payload.htu)} is not ${target.href}`,
      ],
      [
        typeof payload.iat === 'number' && Math.abs(payload.iat - seconds) <= 60
          ? undefined
          : 'iat not recent',
      ],
      [typeof payload.jti === 'string' && !this.#jtis.has(payload.jti) ? undefined : 'jti reused'],
      [
        accessToken === undefined ||
        payload.ath === createHash('sha256').update(accessToken).digest('base64url')
          ? undefined
          : 'ath does not match the token',
      ],
    ].find(([message]) => message !== undefined)?.[0]
    if (problem !== undefined) return this.#refuse(`${path}: DPoP ${problem}`)
    this.#jtis.add(String(payload.jti))
    if (this.policy.paths.has(path) && (this.policy.always || payload.nonce !== this.nonce)) {
      return { reply: this.#demandNonce(path) }
    }
    return { thumbprint }
  }

  #refuse(message: string): { reply: Reply } {
    this.#violation(message)
    return {
      reply: { status: 400, body: { error: 'invalid_dpop_proof', error_description: message } },
    }
  }

  #demandNonce(path: string): Reply {
    const headers: Record<string, string> = this.policy.withoutHeader
      ? {}
      : { 'dpop-nonce': this.nonce }
    if (path === '/userinfo') {
      return {
        status: 401,
        headers: { ...headers, 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"' },
        body: { error: 'use_dpop_nonce' },
      }
    }
    return { status: 400, headers, body: { error: 'use_dpop_nonce' } }
  }

  /** The protected resource: the token in the header, with its proof or its certificate. */
  async resource(req: IncomingMessage, url: string, via: 'main' | 'alias'): Promise<Reply> {
    const authorization = req.headers.authorization ?? ''
    const [scheme, token = ''] = authorization.split(' ')
    const binding = this.tokens.get(token)
    if (new URL(url).searchParams.has('access_token')) this.#violation('resource: token in the URL')
    if (binding === undefined) return { status: 401, body: { error: 'invalid_token' } }
    const proof = await this.proof(req, url, '/userinfo', token)
    if (proof !== undefined && 'reply' in proof) return proof.reply
    if (binding.jkt !== undefined) {
      if (scheme !== 'DPoP' || proof?.thumbprint !== binding.jkt) {
        this.#violation('resource: a DPoP-bound token without its proof')
        return { status: 401, body: { error: 'invalid_token' } }
      }
    } else if (scheme !== 'Bearer') {
      this.#violation(`resource: scheme ${String(scheme)} for a Bearer token`)
      return { status: 401, body: { error: 'invalid_token' } }
    }
    if (binding.certificate !== undefined) {
      const presented = certificateOf(req).thumbprint
      if (via !== 'alias' || presented !== binding.certificate) {
        this.#violation('resource: a certificate-bound token without its certificate')
        return { status: 401, body: { error: 'invalid_token' } }
      }
    }
    return { status: 200, body: { sub: 'user-1' } }
  }
}
