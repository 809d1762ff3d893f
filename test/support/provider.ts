/**
 * An in-process, real oidc-provider (9.x) configured as a FAPI authorization server, for tests.
 *
 * It listens on 127.0.0.1 with an ephemeral port and serves discovery, JWKS, PAR, authorization
 * (with the built-in dev login / consent pages), token, userinfo and end_session endpoints.
 *
 * Typing note: oidc-provider ships no TypeScript declarations and the package.json of this repo
 * must not change, so the module is loaded through a dynamic import whose specifier is typed as a
 * plain `string` (TypeScript then does not try to resolve declarations for it) and the result is
 * narrowed to the small local interfaces below.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

import { exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'

export interface TestClient {
  clientId: string
  /** Where the RP receives the authorization response, e.g. http://127.0.0.1:PORT/auth/callback */
  redirectUri: string
  /** PUBLIC keys of the client (each with kid and alg). */
  jwks: { keys: JWK[] }
  profile: 'fapi1-advanced' | 'fapi2-message-signing'
  /**
   * Used for request objects and client assertions, and the alg the server signs JARM responses
   * and ID tokens with for this client.
   */
  signingAlg: 'PS256' | 'ES256'
  postLogoutRedirectUri?: string
}

/**
 * The part of oidc-provider's Provider (a Koa application, hence an EventEmitter) that tests use.
 * Events worth listening to: 'server_error', 'authorization.error', 'grant.error',
 * 'pushed_authorization_request.error', 'authorization.success', 'grant.success', ...
 */
export interface Provider extends EventEmitter {
  readonly issuer: string
  callback(): (req: IncomingMessage, res: ServerResponse) => unknown
  urlFor(name: string, options?: Record<string, string>): string
}

export interface StartedProvider {
  /** e.g. http://127.0.0.1:54321 (no trailing slash), exactly what the metadata `issuer` says */
  issuer: string
  /** the oidc-provider instance (tests may listen to its events) */
  provider: Provider
  /** counts of requests per URL pathname, e.g. requests('/token') */
  requests(path: string): number
  close(): Promise<void>
}

export type FapiProfile = '1.0 Final' | '2.0'

export type ProviderConstructor = new (issuer: string, configuration: object) => Provider

/** The subset of oidc-provider's Client model that the configuration callbacks below read. */
interface ClientLike {
  clientId: string
}

/** The claims this test server knows about, per scope. */
const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['name'],
  email: ['email'],
} as const

const SUPPORTED_ALGS = ['PS256', 'ES256'] as const

/** Whole-line prefixes of oidc-provider notices that are expected noise in a test harness. */
const EXPECTED_NOTICES = [
  // Printed once when the module is first evaluated on Node < 22 (Node 20 works for our purposes).
  'Unsupported runtime',
  // Printed by every `new Provider()`: both are exactly what a test server wants.
  'a quick start development-only in-memory adapter is used',
  'a quick start development-only feature devInteractions is enabled',
]

function isExpectedNotice(args: readonly unknown[]): boolean {
  const [first] = args
  if (typeof first !== 'string' || !first.includes('oidc-provider WARNING: ')) return false
  const text = first.slice(
    first.indexOf('oidc-provider WARNING: ') + 'oidc-provider WARNING: '.length,
  )
  return EXPECTED_NOTICES.some((notice) => text.startsWith(notice))
}

/**
 * Runs `fn` while dropping only the oidc-provider notices listed in EXPECTED_NOTICES; every other
 * console.warn call passes through untouched, and console.warn is restored afterwards.
 */
export async function withoutExpectedNotices<T>(fn: () => T | Promise<T>): Promise<T> {
  const original = console.warn
  console.warn = (...args: unknown[]) => {
    if (!isExpectedNotice(args)) original.apply(console, args)
  }
  try {
    return await fn()
  } finally {
    console.warn = original
  }
}

const OIDC_PROVIDER_MODULE: string = 'oidc-provider'
let providerConstructor: Promise<ProviderConstructor> | undefined

function isProviderConstructor(value: unknown): value is ProviderConstructor {
  return typeof value === 'function'
}

export async function loadProvider(): Promise<ProviderConstructor> {
  providerConstructor ??= withoutExpectedNotices(async () => {
    const mod: unknown = await import(OIDC_PROVIDER_MODULE)
    const ctor: unknown =
      typeof mod === 'object' && mod !== null && 'default' in mod ? mod.default : undefined
    if (!isProviderConstructor(ctor)) {
      throw new TypeError('oidc-provider did not export a Provider constructor as default')
    }
    return ctor
  })
  return providerConstructor
}

async function generateServerKey(alg: (typeof SUPPORTED_ALGS)[number]): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(privateKey)
  return { ...jwk, kid: `server-${alg.toLowerCase()}-${randomUUID()}`, alg, use: 'sig' }
}

function fapiProfileOf(client: TestClient): FapiProfile {
  return client.profile === 'fapi2-message-signing' ? '2.0' : '1.0 Final'
}

function clientMetadata(client: TestClient): Record<string, unknown> {
  for (const key of client.jwks.keys) {
    if ('d' in key || 'p' in key || 'k' in key) {
      throw new TypeError(`client ${client.clientId}: jwks must only contain public keys`)
    }
    if (key.kid === undefined || key.alg === undefined) {
      throw new TypeError(`client ${client.clientId}: every jwks key needs a kid and an alg`)
    }
  }
  const alg = client.signingAlg
  return {
    client_id: client.clientId,
    application_type: 'web',
    redirect_uris: [client.redirectUri],
    ...(client.postLogoutRedirectUri === undefined
      ? {}
      : { post_logout_redirect_uris: [client.postLogoutRedirectUri] }),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    scope: 'openid profile email',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: alg,
    request_object_signing_alg: alg,
    authorization_signed_response_alg: alg,
    id_token_signed_response_alg: alg,
    // Also implied by the server-wide requireSignedRequestObject; stated per client for clarity.
    require_signed_request_object: true,
    // Only JWT-secured (JARM) authorization responses: FAPI 1.0 Final already insists on them for
    // response_type=code, and these FAPI 2.0 clients are Message Signing clients.
    response_modes: ['jwt', 'query.jwt', 'fragment.jwt', 'form_post.jwt'],
    // FAPI 2.0 only allows authorization requests that went through PAR.
    ...(fapiProfileOf(client) === '2.0' ? { require_pushed_authorization_requests: true } : {}),
    jwks: { keys: client.jwks.keys.map((key) => ({ ...key })) },
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** Minimal view of the Koa context oidc-provider hands to the page renderers below. */
interface RenderContext {
  type: string
  body: unknown
}

export async function startProvider(options: {
  clients: TestClient[]
  fapiProfile: FapiProfile
}): Promise<StartedProvider> {
  const Provider = await loadProvider()
  const [rsaKey, ecKey] = await Promise.all([
    generateServerKey('PS256'),
    generateServerKey('ES256'),
  ])

  const profileByClientId = new Map(
    options.clients.map((client) => [client.clientId, fapiProfileOf(client)]),
  )

  // The issuer must contain the port, so listen first and attach the provider afterwards (nobody
  // knows the port before startProvider returns, so no request can arrive in between).
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const issuer = `http://127.0.0.1:${port}`

  const configuration = {
    clients: options.clients.map(clientMetadata),
    jwks: { keys: [rsaKey, ecKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    async findAccount(_ctx: unknown, id: string) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.test`, name: 'Test User' }
        },
      }
    },
    claims: CLAIMS_BY_SCOPE,
    scopes: ['openid', 'profile', 'email'],
    // Put the scope-granted claims (email, name) into the ID token too, not only into userinfo, so
    // an RP under test can read them from the ID token alone.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['private_key_jwt'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      id_token_signed_response_alg: 'PS256',
    },
    enabledJWA: {
      clientAuthSigningAlgValues: [...SUPPORTED_ALGS],
      idTokenSigningAlgValues: [...SUPPORTED_ALGS],
      requestObjectSigningAlgValues: [...SUPPORTED_ALGS],
      authorizationSigningAlgValues: [...SUPPORTED_ALGS],
      userinfoSigningAlgValues: [...SUPPORTED_ALGS],
    },
    // PKCE (S256 is the only method oidc-provider 9 supports) for every request, not only where
    // the FAPI profile demands it.
    pkce: { required: () => true },
    features: {
      // The profile is chosen per client (from TestClient.profile), falling back to the server-wide
      // profile where no client is known yet (e.g. discovery).
      //
      // Sender-constrained tokens: oidc-provider's `fapi` feature does not itself demand mTLS or
      // DPoP (its docs list them under "other configuration needed to reach FAPI conformance").
      // Binding only happens through `features.mTLS` + the client metadata
      // `tls_client_certificate_bound_access_tokens` (left off here), or when a client sends a
      // DPoP proof / registers `dpop_bound_access_tokens` (`features.dPoP` is on by default in
      // oidc-provider 9 but optional per request). So clients that send neither get plain Bearer
      // tokens; no other FAPI rule is relaxed for that.
      fapi: {
        enabled: true,
        profile: (_ctx: unknown, client: ClientLike | undefined) =>
          (client === undefined ? undefined : profileByClientId.get(client.clientId)) ??
          options.fapiProfile,
      },
      pushedAuthorizationRequests: {
        enabled: true,
        // Server-wide for FAPI 2.0 (advertised in metadata); FAPI 2.0 clients also carry
        // require_pushed_authorization_requests themselves.
        requirePushedAuthorizationRequests: options.fapiProfile === '2.0',
      },
      requestObjects: { enabled: true, requireSignedRequestObject: true },
      jwtResponseModes: { enabled: true },
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // Plain pages (the defaults work too, but print a "you SHOULD change" notice).
        async logoutSource(ctx: RenderContext, form: string) {
          ctx.type = 'html'
          ctx.body = `<!DOCTYPE html><html><head><title>Sign out</title></head><body>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button><button type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`
        },
        async postLogoutSuccessSource(ctx: RenderContext) {
          ctx.type = 'html'
          ctx.body =
            '<!DOCTYPE html><html><head><title>Signed out</title></head><body><h1>Signed out</h1></body></html>'
        },
      },
    },
    // Fixed lifetimes (also keeps oidc-provider from printing "you SHOULD change" notices).
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    clientBasedCORS: () => false,
    // A compact error page: the interesting part (error and error_description) comes first, so a
    // scripted user agent can show it in its exception message.
    async renderError(ctx: RenderContext, out: Record<string, unknown>) {
      ctx.type = 'html'
      const lines = Object.entries(out).map(
        ([key, value]) => `<pre>${escapeHtml(key)}: ${escapeHtml(String(value))}</pre>`,
      )
      ctx.body = `<!DOCTYPE html><html><head><title>error</title></head><body>${lines.join('')}</body></html>`
    },
  }

  let provider: Provider
  try {
    provider = await withoutExpectedNotices(() => new Provider(issuer, configuration))
  } catch (error) {
    server.closeAllConnections()
    server.close()
    throw error
  }
  const handler = provider.callback()
  const counts = new Map<string, number>()
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? '/', issuer)
    counts.set(pathname, (counts.get(pathname) ?? 0) + 1)
    void handler(req, res)
  })

  let closed: Promise<void> | undefined
  return {
    issuer,
    provider,
    requests: (path) => counts.get(path) ?? 0,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      })
      return closed
    },
  }
}
