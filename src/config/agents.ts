/**
 * The keep-alive connection pools of one client, built once from its TLS material: plain http
 * (loopback development only), https verified against the configured CAs (or Node's), and https
 * presenting the client certificate (RFC 8705). TLS 1.2 at least, with the cipher suites BCP 195
 * recommends.
 *
 * @module
 */
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'

/** The client's TLS material: its certificate and key (mTLS), and CAs trusted for the server. */
export interface TlsMaterial {
  readonly cert?: string | Buffer | undefined
  readonly key?: string | Buffer | undefined
  readonly ca?: string | Buffer | readonly (string | Buffer)[] | undefined
}

/**
 * TLS 1.2 suites that BCP 195 recommends (FAPI 1.0 Advanced §8.5, FAPI 2.0 §5.2.2), plus the TLS
 * 1.3 suites (which must be listed, or Node would not offer TLS 1.3).
 */
const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
].join(':')

/** Idle keep-alive sockets are closed before common server idle timeouts (Node's is 5 s). */
const IDLE_SOCKET_MS = 4000

/** Closes a pool's idle sockets now, and each busy one when its request ends. */
function retire(agent: HttpAgent): void {
  const closeIdle = () => {
    for (const sockets of Object.values(agent.freeSockets)) {
      for (const socket of sockets ?? []) socket.destroy()
    }
  }
  // After the agent's own handler: a socket handed to a queued request is not idle, and stays.
  agent.on('free', closeIdle)
  closeIdle()
}

/**
 * The keep-alive connection pools of one client: plain http (loopback development only), https,
 * and https presenting the client certificate. Internal.
 *
 * The TLS material can be replaced while running ({@link Agents.replace}): new requests go through
 * new pools (new connections, with the new certificate); the old pools' connections close as their
 * requests end, so requests in flight finish on the connection they started on.
 */
export class Agents {
  #http: HttpAgent
  #https: HttpsAgent
  #mtls: HttpsAgent | undefined

  constructor(tls: TlsMaterial = {}) {
    const pools = Agents.#build(tls)
    this.#http = pools.http
    this.#https = pools.https
    this.#mtls = pools.mtls
  }

  static #build(tls: TlsMaterial) {
    const pool = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: IDLE_SOCKET_MS }
    const trust =
      tls.ca === undefined ? {} : { ca: tls.ca as string | Buffer | (string | Buffer)[] }
    const secure = { ...pool, ...trust, minVersion: 'TLSv1.2' as const, ciphers: CIPHERS }
    return {
      http: new HttpAgent(pool),
      https: new HttpsAgent(secure),
      mtls:
        tls.cert !== undefined && tls.key !== undefined
          ? new HttpsAgent({ ...secure, cert: tls.cert, key: tls.key })
          : undefined,
    }
  }

  get http(): HttpAgent {
    return this.#http
  }

  get https(): HttpsAgent {
    return this.#https
  }

  /** Present only when a client certificate is configured. */
  get mtls(): HttpsAgent | undefined {
    return this.#mtls
  }

  /** Uses `tls` for every new connection; the current pools close as their requests end. */
  replace(tls: TlsMaterial): void {
    const old = [this.#http, this.#https, this.#mtls]
    const pools = Agents.#build(tls)
    this.#http = pools.http
    this.#https = pools.https
    this.#mtls = pools.mtls
    for (const agent of old) if (agent !== undefined) retire(agent)
  }

  /** Closes every pooled connection. */
  destroy(): void {
    this.#http.destroy()
    this.#https.destroy()
    this.#mtls?.destroy()
  }
}
