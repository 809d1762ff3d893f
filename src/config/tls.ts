/**
 * The `tls` option, checked at startup: a client certificate and its key (RFC 8705) that belong
 * together, CAs for the server's certificate, and the keep-alive connection pools built from them.
 * Part of the configuration (`config.ts`).
 *
 * @module
 */
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { Agents } from './agents.js'
import { FapiConfigError, failOption as fail } from '../errors.js'
import type { TlsOptions } from './options.js'

/** The resolved TLS material. */
export interface ResolvedTls {
  /** Connection pools: plain, https, https with the client certificate. */
  readonly agents: Agents
  /** A client certificate (and its key) is configured. */
  readonly clientCertificate: boolean
  /**
   * Replaces the TLS material while running (transport certificate rotation): checked like the
   * startup `tls` (a mistake throws and keeps the current material); a client with a certificate
   * keeps one. New connections use the new material; `certificateJwk` follows it.
   *
   * @throws {FapiConfigError}
   */
  readonly update: (tls: TlsOptions) => void
  /**
   * The certificate's public key as a JWK with `x5c` and `x5t#S256`, for the client's JWKS
   * (`self_signed_tls_client_auth`, RFC 8705 §2.2), when a certificate is configured.
   */
  readonly certificateJwk: Readonly<JWK> | undefined
}

function isPem(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value !== '') || Buffer.isBuffer(value)
}

function certificateJwk(certificate: X509Certificate): JWK {
  const thumbprint = createHash('sha256').update(certificate.raw).digest('base64url')
  const jwk = certificate.publicKey.export({ format: 'jwk' }) as JWK
  return {
    ...jwk,
    kid: `tls-${thumbprint.slice(0, 16)}`,
    x5c: [certificate.raw.toString('base64')],
    'x5t#S256': thumbprint,
  }
}

/**
 * Checks `tls`: `cert` and `key` together, the key private and matching the certificate (the
 * first one of a chain), `ca` PEM text. Builds the connection pools.
 *
 * @throws {FapiConfigError}
 */
export function resolveTls(tls: TlsOptions | undefined): ResolvedTls {
  const checked = checkTls(tls)
  const agents = new Agents(tls)
  let certificate = checked.certificateJwk
  return {
    agents,
    clientCertificate: checked.certificateJwk !== undefined,
    get certificateJwk() {
      return certificate
    },
    update(next: TlsOptions) {
      const replaced = checkTls(next)
      if ((replaced.certificateJwk === undefined) !== (certificate === undefined)) {
        fail(
          'tls',
          certificate === undefined
            ? 'had no client certificate at startup; an update cannot add one (restart instead)'
            : 'needs "cert" and "key": the client authenticates or binds tokens with a certificate',
        )
      }
      agents.replace(next)
      certificate = replaced.certificateJwk
    },
  }
}

/** Checks the material; the certificate's JWK when one is given. */
function checkTls(tls: TlsOptions | undefined): { certificateJwk: Readonly<JWK> | undefined } {
  if (tls === undefined) return { certificateJwk: undefined }
  if (typeof tls !== 'object' || tls === null) fail('tls', 'must be an object { cert, key, ca }')
  const { cert, key, ca } = tls
  if ((cert === undefined) !== (key === undefined)) {
    fail('tls', 'needs both "cert" and "key" (PEM), or neither')
  }
  if (ca !== undefined) {
    const list: readonly unknown[] = Array.isArray(ca) ? ca : [ca]
    if (list.length === 0 || !list.every(isPem)) fail('tls.ca', 'must be PEM text or a list of it')
  }
  let jwk: JWK | undefined
  if (cert !== undefined && key !== undefined) {
    if (!isPem(cert)) fail('tls.cert', 'must be a PEM certificate')
    if (!isPem(key)) fail('tls.key', 'must be a PEM private key')
    let certificate: X509Certificate
    let privateKey: KeyObject
    try {
      certificate = new X509Certificate(cert)
    } catch (cause) {
      throw new FapiConfigError(
        `express-fapi: option "tls.cert" is not a PEM certificate (${(cause as Error).message})`,
      )
    }
    try {
      privateKey = createPrivateKey(key)
    } catch (cause) {
      throw new FapiConfigError(
        `express-fapi: option "tls.key" is not a PEM private key (${(cause as Error).message})`,
      )
    }
    if (!certificate.checkPrivateKey(privateKey)) {
      fail('tls.key', 'does not belong to the certificate in "tls.cert"')
    }
    jwk = certificateJwk(certificate)
  }
  return { certificateJwk: jwk === undefined ? undefined : Object.freeze(jwk) }
}
