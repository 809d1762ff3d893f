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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { createLocalJWKSet, type JWK, type JWTPayload } from 'jose'
import {
  atHash,
  mintJwt,
  newServerKey,
  runAttackerKeys,
  runServerKeys,
  s256,
  type JwtMutation,
  type ServerAlg,
  type ServerKey,
} from './hostile-jwt.js'
import { checkAssertion, checkRequestObject } from './hostile-checks.js'
import { oauthError, readBody, send, type Reply } from './hostile-http.js'

export type { JwtMutation, ServerAlg } from './hostile-jwt.js'
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

/** What the client pushed (or sent by value). */
export interface Pushed {
  readonly form: URLSearchParams
  readonly requestObject: { readonly header: Record<string, unknown>; readonly payload: JWTPayload }
}

export interface HostileOptions {
  readonly clientId: string
  /** Public JWKS of the client, to verify its request objects and assertions. */
  readonly clientJwks: { keys: JWK[] }
  readonly alg?: ServerAlg
  /** The server's clock in milliseconds; share it with the client to move time. */
  readonly now?: () => number
}

export interface HostileServer {
  readonly issuer: string
  /** The algorithm of the JARM responses and ID tokens. */
  alg: ServerAlg
  metadata: (metadata: Record<string, unknown>) => Record<string, unknown>
  jwks: (keys: JWK[]) => JWK[]
  token: (reply: Reply) => Reply
  idToken: JwtMutation
  /** Rewrites the reply of any endpoint by path (after the specific hooks above). */
  fault(path: string, rewrite: ((reply: Reply) => Reply) | undefined): void
  /** The current signing key of an algorithm (its kid can be changed with {@link setKid}). */
  key(alg: ServerAlg): ServerKey
  setKid(alg: ServerAlg, kid: string): void
  /** Replaces the published key of the current algorithm by a new one (rotation). */
  rotate(): Promise<ServerKey>
  requests(path: string): number
  violations(): readonly string[]
  lastPushed(): Pushed
  pushed(): readonly Pushed[]
  tokenRequests(): readonly URLSearchParams[]
  authorize(authorizationUrl: string, mutation?: JwtMutation): Promise<Authorized>
  /** Stops listening (connections are refused) until {@link up}; state is kept. */
  down(): Promise<void>
  /** Listens again on the same port, so the issuer is unchanged. */
  up(): Promise<void>
  close(): Promise<void>
}

interface Grant {
  readonly request: JWTPayload
  used: boolean
}

const MAX_LOG = 10_000

function bounded<T>(list: T[], item: T): void {
  if (list.length < MAX_LOG) list.push(item)
}

export async function startHostileServer(options: HostileOptions): Promise<HostileServer> {
  const [own, attackers] = await Promise.all([runServerKeys(), runAttackerKeys()])
  const keys: Record<ServerAlg, ServerKey> = { ...own }
  const clientKeys = createLocalJWKSet(options.clientJwks)
  const now = options.now ?? Date.now
  const closing = new AbortController()
  const counts = new Map<string, number>()
  const faults = new Map<string, (reply: Reply) => Reply>()
  const violations: string[] = []
  const pushed: Pushed[] = []
  const tokenForms: URLSearchParams[] = []
  const requestUris = new Map<string, Grant>()
  const codes = new Map<string, Grant>()
  const seenJtis = new Set<string>()

  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const violation = (message: string): void => bounded(violations, message)
  const sign = (claims: JWTPayload, mutation: JwtMutation | undefined) =>
    mintJwt(claims, keys[as.alg], attackers[as.alg], keys.PS256, mutation)
  const context = () => ({ clientId: options.clientId, issuer, keys: clientKeys, now: now() })
  const assertionOk = async (form: URLSearchParams): Promise<Reply | undefined> => {
    const problem = await checkAssertion(form, { ...context(), seenJtis })
    if (problem === undefined) return undefined
    violation(problem)
    return oauthError(401, 'invalid_client', problem)
  }

  const defaultMetadata = (): Record<string, unknown> => ({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    pushed_authorization_request_endpoint: `${issuer}/par`,
    scopes_supported: ['openid'],
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'jwt', 'query.jwt', 'form_post.jwt'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['public'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['PS256', 'ES256'],
    request_object_signing_alg_values_supported: ['PS256', 'ES256'],
    authorization_signing_alg_values_supported: ['PS256', 'ES256'],
    id_token_signing_alg_values_supported: ['PS256', 'ES256'],
    require_pushed_authorization_requests: false,
  })

  async function par(form: URLSearchParams): Promise<Reply> {
    if (form.has('request_uri')) violation('PAR: the client sent request_uri (RFC 9126 §2.1)')
    const denied = await assertionOk(form)
    if (denied) return denied
    const result = await checkRequestObject(form.get('request') ?? '', context())
    if (!result.ok) {
      violation(result.problem)
      return oauthError(400, 'invalid_request_object', result.problem)
    }
    bounded(pushed, { form, requestObject: result.value })
    const requestUri = `urn:ietf:params:oauth:request_uri:${randomBytes(16).toString('hex')}`
    if (requestUris.size < MAX_LOG) {
      requestUris.set(requestUri, { request: result.value.payload, used: false })
    }
    return { status: 201, body: { request_uri: requestUri, expires_in: 60 } }
  }

  async function token(form: URLSearchParams): Promise<Reply> {
    bounded(tokenForms, form)
    if (form.get('grant_type') !== 'authorization_code') {
      violation('token: grant_type is not authorization_code')
      return oauthError(400, 'unsupported_grant_type', 'authorization_code only')
    }
    const denied = await assertionOk(form)
    if (denied) return denied
    const grant = codes.get(form.get('code') ?? '')
    if (grant === undefined || grant.used) {
      violation('token: unknown or reused code')
      return oauthError(400, 'invalid_grant', 'unknown or used code')
    }
    grant.used = true
    const { request } = grant
    if (form.get('redirect_uri') !== request.redirect_uri) {
      violation('token: redirect_uri differs from the authorization request')
      return oauthError(400, 'invalid_grant', 'redirect_uri mismatch')
    }
    if (s256(form.get('code_verifier') ?? '') !== request.code_challenge) {
      violation('token: code_verifier does not match code_challenge (S256)')
      return oauthError(400, 'invalid_grant', 'PKCE failed')
    }
    const accessToken = randomBytes(24).toString('base64url')
    const iat = Math.floor(now() / 1000)
    const idToken = await sign(
      {
        iss: issuer,
        sub: 'user-1',
        aud: options.clientId,
        exp: iat + 300,
        iat,
        auth_time: iat,
        nonce: request.nonce,
        at_hash: atHash(accessToken),
      },
      as.idToken,
    )
    return {
      status: 200,
      headers: { 'cache-control': 'no-store' },
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: 300,
        id_token: idToken,
        scope: request.scope,
      },
    }
  }

  async function resolveRequest(url: URL): Promise<JWTPayload> {
    const requestUri = url.searchParams.get('request_uri')
    if (requestUri !== null) {
      const grant = requestUris.get(requestUri)
      if (grant === undefined || grant.used) throw new Error('unknown or reused request_uri')
      grant.used = true
      const extra = [...url.searchParams.keys()].filter(
        (k) => k !== 'client_id' && k !== 'request_uri',
      )
      if (extra.length > 0) violation(`authorize: parameters beside PAR's: ${extra.join(', ')}`)
      if (url.searchParams.get('client_id') !== grant.request.client_id) {
        violation('authorize: client_id differs from the request object')
      }
      return grant.request
    }
    const result = await checkRequestObject(url.searchParams.get('request') ?? '', context())
    if (!result.ok) throw new Error(`request object: ${result.problem}`)
    const { payload } = result.value
    bounded(pushed, { form: url.searchParams, requestObject: result.value })
    for (const name of ['client_id', 'response_type'] as const) {
      if (url.searchParams.get(name) !== payload[name])
        violation(`authorize: query ${name} differs`)
    }
    if (!(url.searchParams.get('scope') ?? '').split(' ').includes('openid')) {
      violation('authorize: query scope lacks openid')
    }
    return payload
  }

  async function mint(request: JWTPayload, mutation: JwtMutation = {}): Promise<Minted> {
    const code = randomBytes(24).toString('base64url')
    if (codes.size < MAX_LOG) codes.set(code, { request, used: false })
    const iat = Math.floor(now() / 1000)
    const jwt = await sign(
      { iss: issuer, aud: options.clientId, exp: iat + 600, iat, state: request.state, code },
      mutation,
    )
    const redirectUri = String(request.redirect_uri)
    if (request.response_mode === 'form_post.jwt') {
      return {
        method: 'POST',
        url: redirectUri,
        body: new URLSearchParams({ response: jwt }),
        code,
        jwt,
      }
    }
    const target = new URL(redirectUri)
    if (request.response_mode === 'fragment.jwt') target.hash = `response=${jwt}`
    else target.searchParams.set('response', jwt)
    return { method: 'GET', url: target.href, code, jwt }
  }

  async function route(req: IncomingMessage, requested: string): Promise<Reply> {
    const method = req.method ?? 'GET'
    // `/alt/...` serves the same endpoints, for metadata that moves them.
    const path = requested.replace(/^\/alt\//, '/')
    if (method === 'GET' && path === '/.well-known/openid-configuration') {
      return { status: 200, body: as.metadata(defaultMetadata()) }
    }
    if (method === 'GET' && path === '/jwks') {
      return { status: 200, body: { keys: as.jwks([keys.PS256.publicJwk, keys.ES256.publicJwk]) } }
    }
    if (method === 'GET' && path === '/attacker/jwks') {
      return { status: 200, body: { keys: [attackers.PS256.publicJwk, attackers.ES256.publicJwk] } }
    }
    if (method === 'POST' && (path === '/par' || path === '/token')) {
      const form = await readBody(req)
      if (form === undefined) return oauthError(413, 'invalid_request', 'body too large')
      return path === '/par' ? par(form) : as.token(await token(form))
    }
    return oauthError(404, 'not_found', 'no such endpoint')
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => undefined)
    const path = new URL(req.url ?? '/', issuer).pathname
    counts.set(path, (counts.get(path) ?? 0) + 1)
    route(req, path)
      .then((reply) => send(res, faults.get(path)?.(reply) ?? reply, closing.signal))
      .catch((error: unknown) => {
        violation(`server failure on ${path}: ${String(error)}`)
        if (!res.headersSent) res.writeHead(500).end()
      })
  })

  const as: HostileServer = {
    issuer,
    alg: options.alg ?? 'PS256',
    metadata: (metadata) => metadata,
    jwks: (list) => list,
    token: (reply) => reply,
    idToken: {},
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
    violations: () => [...violations],
    lastPushed() {
      const last = pushed.at(-1)
      if (last === undefined) throw new Error('nothing was pushed')
      return last
    },
    pushed: () => [...pushed],
    tokenRequests: () => [...tokenForms],
    async authorize(authorizationUrl, mutation) {
      const url = new URL(authorizationUrl)
      if (`${url.origin}${url.pathname}` !== `${issuer}/authorize`) {
        throw new Error(`not this server's authorization endpoint: ${authorizationUrl}`)
      }
      counts.set('/authorize', (counts.get('/authorize') ?? 0) + 1)
      const request = await resolveRequest(url)
      const first = await mint(request, mutation)
      return { ...first, request, mint: (again) => mint(request, again) }
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
      if (!server.listening) return
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
  return as
}
