/**
 * A hand-written, hostile FAPI authorization server on 127.0.0.1 for negative tests of the client.
 *
 * By default it behaves like a correct FAPI 2.0 Message Signing server: discovery, JWKS, PAR
 * (client assertion and request object verified with the client's public JWKS), JARM responses
 * minted by {@link HostileServer.authorize}, and a token endpoint that checks the grant, the code
 * (single use), PKCE S256, the redirect URI and the client assertion before it mints an ID token.
 * Everything a test may want to break is a field or a method: metadata, JWKS, each endpoint's
 * reply (status, body, raw bytes, delay, hang, reset, endless body), the JARM and ID token JWTs.
 * What the client did wrong is collected in {@link HostileServer.violations}.
 */
import { once } from 'node:events'
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, type JWK, type JWTPayload } from 'jose'
import type { TestCertificates } from './certs.js'
import { Bindings, type ConnectionRecord } from './hostile-bindings.js'
import { serverEncryptionKey } from './hostile-jwe.js'
import { hostileMetadata } from './hostile-metadata.js'
import {
  mintJwt,
  newServerKey,
  runAttackerKeys,
  runServerKeys,
  type JwtMutation,
  type ServerAlg,
  type ServerKey,
} from './hostile-jwt.js'
import { mint, resolveRequest } from './hostile-authorize.js'
import {
  bounded,
  par,
  revoke,
  token,
  type EndpointState,
  type Grant,
  type Pushed,
  type RefreshGrant,
} from './hostile-endpoints.js'
import { oauthError, readBody, send, type Reply } from './hostile-http.js'

export type { JwtMutation, ServerAlg } from './hostile-jwt.js'
export type { Pushed } from './hostile-endpoints.js'
export { verifyWith, type Reply } from './hostile-http.js'

/** How the browser would deliver an authorization response to the client. */
export interface Delivery {
  readonly method: 'GET' | 'POST'
  readonly url: string
  readonly body?: URLSearchParams
}

/** A minted authorization response. */
export interface Minted extends Delivery {
  readonly code: string
  readonly jwt: string
}

/** An authorization request the server resolved, with the first response minted for it. */
export interface Authorized extends Minted {
  readonly request: JWTPayload
  /** Another response for the same request (a fresh code unless the claims say otherwise). */
  mint(mutation?: JwtMutation): Promise<Minted>
}

export interface HostileOptions {
  readonly clientId: string
  /** Public JWKS of the client, to verify its request objects and assertions. */
  readonly clientJwks: { keys: JWK[] }
  readonly alg?: ServerAlg
  /** The server's clock in milliseconds; share it with the client to move time. */
  readonly now?: () => number
  /** Serve https, plus an mTLS server (client certificates requested) for the aliases. */
  readonly tls?: TestCertificates
}

export interface HostileServer {
  readonly issuer: string
  /** The algorithm of the JARM responses and ID tokens. */
  alg: ServerAlg
  metadata: (metadata: Record<string, unknown>) => Record<string, unknown>
  jwks: (keys: JWK[]) => JWK[]
  token: (reply: Reply) => Reply
  idToken: JwtMutation
  /** Encrypts each JARM response JWT (e.g. with `encryptTo` of `hostile-jwe.ts`). */
  encryptJarm: ((jwt: string) => Promise<string>) | undefined
  /** Encrypts each ID token. */
  encryptIdToken: ((jwt: string) => Promise<string>) | undefined
  /** Publish the server's encryption key (`use: enc`) in its JWKS. Default true. */
  publishEncryptionKey: boolean
  /** The `aud` required of client assertions: the issuer (default) or the endpoint URL. */
  assertionAudience: 'issuer' | 'endpoint'
  /** DPoP proofs, connections (main or mTLS alias, certificate), token bindings, nonce policy. */
  readonly bindings: Bindings
  /** The origin of the mTLS alias server, with `tls`. */
  readonly mtlsOrigin: string | undefined
  /** Rewrites the reply of any endpoint by path (after the specific hooks above). */
  fault(path: string, rewrite: ((reply: Reply) => Reply) | undefined): void
  /** The current signing key of an algorithm (its kid can be changed with {@link setKid}). */
  key(alg: ServerAlg): ServerKey
  setKid(alg: ServerAlg, kid: string): void
  /** Replaces the published key of the current algorithm by a new one (rotation). */
  rotate(): Promise<ServerKey>
  requests(path: string): number
  /**
   * Resolves once `count` requests to `path` are held by a `hang` or `holdUntil` reply: the signal that a client
   * is waiting on a server that will not answer (no guess of how long that takes).
   */
  held(path: string, count?: number): Promise<void>
  /** Signs `claims` as the server signs its JWTs (with `header` under the mutation's). */
  signJwt(
    claims: JWTPayload,
    mutation?: JwtMutation,
    header?: Record<string, unknown>,
  ): Promise<string>
  violations(): readonly string[]
  lastPushed(): Pushed
  pushed(): readonly Pushed[]
  tokenRequests(): readonly URLSearchParams[]
  /** The headers of each request to `/userinfo` (the resource). */
  resourceRequests(): readonly IncomingHttpHeaders[]
  /** The forms posted to the revocation endpoint. */
  revocationRequests(): readonly URLSearchParams[]
  authorize(authorizationUrl: string, mutation?: JwtMutation): Promise<Authorized>
  /** Stops listening (connections are refused) until {@link up}; state is kept. */
  down(): Promise<void>
  /** Listens again on the same port, so the issuer is unchanged. */
  up(): Promise<void>
  close(): Promise<void>
}

export async function startHostileServer(options: HostileOptions): Promise<HostileServer> {
  const [own, attackers] = await Promise.all([runServerKeys(), runAttackerKeys()])
  const keys: Record<ServerAlg, ServerKey> = { ...own }
  const clientKeys = createLocalJWKSet(options.clientJwks)
  const now = options.now ?? Date.now
  const closing = new AbortController()
  const counts = new Map<string, number>()
  const hung = new Map<string, number>()
  const holdWaiters = new Set<{ path: string; count: number; resolve: () => void }>()
  const noteHeld = (path: string): void => {
    hung.set(path, (hung.get(path) ?? 0) + 1)
    for (const waiter of holdWaiters) {
      if (waiter.path === path && (hung.get(path) ?? 0) >= waiter.count) {
        holdWaiters.delete(waiter)
        waiter.resolve()
      }
    }
  }
  const faults = new Map<string, (reply: Reply) => Reply>()
  const violations: string[] = []
  const pushed: Pushed[] = []
  const tokenForms: URLSearchParams[] = []
  const resourceHeaders: IncomingHttpHeaders[] = []
  const revocations: URLSearchParams[] = []
  const requestUris = new Map<string, Grant>()
  const codes = new Map<string, Grant>()
  const refreshTokens = new Map<string, RefreshGrant>()
  const seenJtis = new Set<string>()

  const { tls } = options
  const server: Server = tls
    ? createHttpsServer({ cert: tls.server.cert, key: tls.server.key })
    : createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
  const alias: Server | undefined = tls
    ? createHttpsServer({
        cert: tls.server.cert,
        key: tls.server.key,
        ca: [tls.clientCa],
        requestCert: true,
        rejectUnauthorized: false,
      })
    : undefined
  alias?.listen(0, '127.0.0.1')
  if (alias) await once(alias, 'listening')
  const mtlsOrigin = alias && `https://127.0.0.1:${(alias.address() as AddressInfo).port}`

  const violation = (message: string): void => bounded(violations, message)
  const bindings = new Bindings(violation, now)
  const sign = (claims: JWTPayload, mutation: JwtMutation | undefined) =>
    mintJwt(claims, keys[as.alg], attackers[as.alg], keys.PS256, mutation)
  const state: EndpointState = {
    clientId: options.clientId,
    issuer,
    now,
    bindings,
    clientKeys,
    seenJtis,
    requestUris,
    codes,
    refreshTokens,
    violation,
    record: (item) => bounded(pushed, item),
    recordToken: (form) => bounded(tokenForms, form),
    sign: (claims, mutation) => sign(claims, mutation),
    get hooks() {
      return as
    },
  }
  async function route(
    req: IncomingMessage,
    requested: string,
    connection: ConnectionRecord,
  ): Promise<Reply> {
    const method = req.method ?? 'GET'
    // `/alt/...` serves the same endpoints, for metadata that moves them.
    const path = requested.replace(/^\/alt\//, '/')
    const origin = connection.via === 'alias' ? (mtlsOrigin ?? issuer) : issuer
    const url = `${origin}${req.url ?? '/'}`
    if (method === 'GET' && path === '/.well-known/openid-configuration') {
      return { status: 200, body: as.metadata(hostileMetadata(issuer, mtlsOrigin)) }
    }
    if (method === 'GET' && path === '/jwks') {
      const published = [keys.PS256.publicJwk, keys.ES256.publicJwk]
      if (as.publishEncryptionKey) published.push(serverEncryptionKey().publicJwk)
      return { status: 200, body: { keys: as.jwks(published) } }
    }
    if (path === '/userinfo') {
      // FAPI 1.0 Part 1 §6.2.1 (11): the resource server echoes the interaction id.
      bounded(resourceHeaders, { ...req.headers })
      const reply = await bindings.resource(req, url, connection.via)
      const id = req.headers['x-fapi-interaction-id']
      if (typeof id !== 'string') return reply
      return { ...reply, headers: { ...reply.headers, 'x-fapi-interaction-id': id } }
    }
    if (method === 'GET' && path === '/attacker/jwks') {
      return { status: 200, body: { keys: [attackers.PS256.publicJwk, attackers.ES256.publicJwk] } }
    }
    if (method === 'POST' && path === '/revoke') {
      const form = await readBody(req)
      if (form === undefined) return oauthError(413, 'invalid_request', 'body too large')
      bounded(revocations, form)
      return revoke(state, form, connection, url)
    }
    if (method === 'POST' && (path === '/par' || path === '/token')) {
      const form = await readBody(req)
      if (form === undefined) return oauthError(413, 'invalid_request', 'body too large')
      return path === '/par'
        ? par(state, form, req, connection, url)
        : as.token(await token(state, form, req, connection, url))
    }
    return oauthError(404, 'not_found', 'no such endpoint')
  }

  const serve = (via: 'main' | 'alias') => (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => undefined)
    const path = new URL(req.url ?? '/', issuer).pathname
    counts.set(path, (counts.get(path) ?? 0) + 1)
    route(req, path, bindings.connection(req, path, via))
      .then((reply) => {
        const final = faults.get(path)?.(reply) ?? reply
        if (final.hang === true || final.holdUntil !== undefined) noteHeld(path)
        return send(res, final, closing.signal)
      })
      .catch((error: unknown) => {
        violation(`server failure on ${path}: ${String(error)}`)
        if (!res.headersSent) res.writeHead(500).end()
      })
  }
  server.on('request', serve('main'))
  alias?.on('request', serve('alias'))

  const as: HostileServer = {
    issuer,
    alg: options.alg ?? 'PS256',
    metadata: (metadata) => metadata,
    jwks: (list) => list,
    token: (reply) => reply,
    idToken: {},
    encryptJarm: undefined,
    encryptIdToken: undefined,
    publishEncryptionKey: true,
    assertionAudience: 'issuer',
    bindings,
    mtlsOrigin,
    fault(path, rewrite) {
      if (rewrite === undefined) faults.delete(path)
      else faults.set(path, rewrite)
    },
    key: (alg) => keys[alg],
    setKid(alg, kid) {
      const current = keys[alg]
      keys[alg] = { ...current, kid, publicJwk: { ...current.publicJwk, kid } }
    },
    async rotate() {
      keys[as.alg] = await newServerKey(as.alg)
      return keys[as.alg]
    },
    requests: (path) => counts.get(path) ?? 0,
    held: (path, count = 1) =>
      (hung.get(path) ?? 0) >= count
        ? Promise.resolve()
        : new Promise((resolve) => {
            holdWaiters.add({ path, count, resolve })
          }),
    violations: () => [...violations],
    lastPushed() {
      const last = pushed.at(-1)
      if (last === undefined) throw new Error('nothing was pushed')
      return last
    },
    pushed: () => [...pushed],
    tokenRequests: () => [...tokenForms],
    resourceRequests: () => [...resourceHeaders],
    revocationRequests: () => [...revocations],
    signJwt: (claims, mutation, header) =>
      mintJwt(claims, keys[as.alg], attackers[as.alg], keys.PS256, mutation, header),
    async authorize(authorizationUrl, mutation) {
      const url = new URL(authorizationUrl)
      if (`${url.origin}${url.pathname}` !== `${issuer}/authorize`) {
        throw new Error(`not this server's authorization endpoint: ${authorizationUrl}`)
      }
      counts.set('/authorize', (counts.get('/authorize') ?? 0) + 1)
      const { request, jkt } = await resolveRequest(state, url)
      const first = await mint(state, request, mutation, jkt)
      return { ...first, request, mint: (again) => mint(state, request, again, jkt) }
    },
    async down() {
      if (!server.listening) return
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
    async up() {
      if (server.listening) return
      server.listen(Number(new URL(issuer).port), '127.0.0.1')
      await once(server, 'listening')
    },
    async close() {
      closing.abort()
      if (alias?.listening) {
        alias.closeAllConnections()
        alias.close()
        await once(alias, 'close')
      }
      if (!server.listening) return
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
  return as
}
