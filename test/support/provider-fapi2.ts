/**
 * A real oidc-provider (9.x) with the FAPI 2.0 completeness features on: DPoP (optionally with
 * server nonces required), mTLS (https on 127.0.0.1 with certificates from `certs.ts`: the main
 * server, and an mTLS server requesting client certificates, announced as
 * `mtls_endpoint_aliases` for PAR, token and userinfo), and encryption (request objects to the
 * server, JARM and ID tokens to the client). Plus plain RFC 9207 responses and RS256 for the
 * `oidc` profile. The older `provider.ts` harness stays as it is for its callers.
 */
import { X509Certificate, randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import type { TestCertificates } from './certs.js'
import { loadProvider, withoutExpectedNotices, type Provider } from './provider.js'

/** One registered client. */
export interface Fapi2Client {
  readonly clientId: string
  readonly redirectUri: string
  /** Public keys given by value, or the client's `jwks()` route. */
  readonly jwks?: { keys: JWK[] }
  readonly jwksUri?: string
  /** oidc-provider's FAPI profile for this client; none for a plain OIDC client. */
  readonly fapi: '1.0 Final' | '2.0' | undefined
  readonly signingAlg: 'PS256' | 'ES256' | 'RS256'
  readonly authMethod?:
    | 'private_key_jwt'
    | 'tls_client_auth'
    | 'self_signed_tls_client_auth'
    | 'client_secret_basic'
    | 'client_secret_post'
    | 'client_secret_jwt'
  /** The client secret, for the `client_secret_*` methods. */
  readonly clientSecret?: string
  readonly binding?: 'dpop' | 'mtls' | 'none'
  readonly responseModes: readonly string[]
  readonly requirePar?: boolean
  readonly requireRequestObject?: boolean
  /** What the server encrypts to the client: JWE alg and enc. */
  readonly encryptIdToken?: { alg: string; enc: string }
  readonly encryptAuthorizationResponse?: { alg: string; enc: string }
}

export interface Fapi2ProviderOptions {
  readonly clients: readonly Fapi2Client[]
  /** https, and an mTLS server for the aliases. */
  readonly tls?: TestCertificates
  /** Require a server-provided DPoP nonce in every proof (RFC 9449 §8). */
  readonly dpopNonces?: boolean
  /** Sign ID tokens and JARM responses of RS256 clients (profile `oidc`). */
  readonly rs256?: boolean
  /** Issue refresh tokens on every code exchange, rotated on every refresh. */
  readonly refreshTokens?: boolean
  /** The client credentials grant (RFC 6749 §4.4) for every client. */
  readonly clientCredentials?: boolean
  /** Rich authorization requests (RFC 9396) of these types, granted as requested. */
  readonly rarTypes?: readonly string[]
  /** The revocation endpoint (RFC 7009). */
  readonly revocation?: boolean
  /** Signed userinfo responses (OIDC Core §5.3.2) for every client. */
  readonly signedUserinfo?: boolean
  /**
   * Dynamic registration (RFC 7591) with initial access tokens that carry the `ssa` policy, and
   * management (RFC 7592) with rotated registration access tokens.
   */
  readonly registration?: {
    readonly ssaPolicy: (ctx: unknown, properties: Record<string, unknown>) => Promise<void>
    /** Announce the registration endpoint's mTLS alias too (with `tls`). */
    readonly mtlsAlias?: boolean
  }
  /** OpenID Connect Back-Channel Logout 1.0 (`backchannel_logout_uri` accepted at registration). */
  readonly backchannelLogout?: boolean
}

export interface StartedFapi2Provider {
  readonly issuer: string
  readonly provider: Provider
  /** The mTLS alias origin, when `tls` is on. */
  readonly mtlsOrigin: string | undefined
  readonly userinfoEndpoint: string
  /** A new initial access token carrying the `ssa` policy (with `registration`). */
  initialAccessToken(): Promise<string>
  /** Requests per server (`main` or `mtls`) and pathname. */
  requests(server: 'main' | 'mtls', path: string): number
  close(): Promise<void>
}

async function serverKey(alg: 'PS256' | 'ES256' | 'RS256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 })
  return { ...(await exportJWK(privateKey)), kid: `as-${alg}-${randomUUID()}`, alg, use: 'sig' }
}

async function encryptionKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RSA-OAEP-256', {
    extractable: true,
    modulusLength: 2048,
  })
  return { ...(await exportJWK(privateKey)), kid: `as-enc-${randomUUID()}`, use: 'enc' }
}

function clientMetadata(
  client: Fapi2Client,
  options: Fapi2ProviderOptions,
): Record<string, unknown> {
  const method = client.authMethod ?? 'private_key_jwt'
  return {
    client_id: client.clientId,
    application_type: 'web',
    redirect_uris: [client.redirectUri],
    response_types: ['code'],
    grant_types: [
      'authorization_code',
      ...(options.refreshTokens === true ? ['refresh_token'] : []),
      ...(options.clientCredentials === true ? ['client_credentials'] : []),
    ],
    ...(options.signedUserinfo === true ? { userinfo_signed_response_alg: client.signingAlg } : {}),
    ...(options.rarTypes === undefined
      ? {}
      : { authorization_details_types: [...options.rarTypes] }),
    scope: 'openid profile email',
    token_endpoint_auth_method: method,
    ...(method === 'private_key_jwt' ? { token_endpoint_auth_signing_alg: client.signingAlg } : {}),
    ...(method === 'tls_client_auth' ? { tls_client_auth_subject_dn: 'CN=portal' } : {}),
    ...(method === 'client_secret_jwt' ? { token_endpoint_auth_signing_alg: 'HS256' } : {}),
    ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
    request_object_signing_alg: client.signingAlg,
    authorization_signed_response_alg: client.signingAlg,
    id_token_signed_response_alg: client.signingAlg,
    require_signed_request_object: client.requireRequestObject ?? false,
    response_modes: [...client.responseModes],
    require_pushed_authorization_requests: client.requirePar ?? false,
    ...(client.binding === 'dpop' ? { dpop_bound_access_tokens: true } : {}),
    ...(client.binding === 'mtls' ? { tls_client_certificate_bound_access_tokens: true } : {}),
    ...(client.encryptIdToken
      ? {
          id_token_encrypted_response_alg: client.encryptIdToken.alg,
          id_token_encrypted_response_enc: client.encryptIdToken.enc,
        }
      : {}),
    ...(client.encryptAuthorizationResponse
      ? {
          authorization_encrypted_response_alg: client.encryptAuthorizationResponse.alg,
          authorization_encrypted_response_enc: client.encryptAuthorizationResponse.enc,
        }
      : {}),
    ...(client.jwksUri === undefined ? { jwks: client.jwks } : { jwks_uri: client.jwksUri }),
  }
}

/** What the RAR policy functions read of oidc-provider's context. */
interface RarContext {
  readonly oidc: {
    readonly grant?: { readonly rar?: unknown }
    readonly params: Record<string, unknown>
  }
}

/** The client certificate of an mTLS connection, for oidc-provider. */
function peerCertificate(ctx: unknown): X509Certificate | undefined {
  const socket = (ctx as { socket?: Partial<TLSSocket> }).socket
  const peer = socket?.getPeerCertificate?.()
  if (peer === undefined || peer === null || !('raw' in peer) || !Buffer.isBuffer(peer.raw)) {
    return undefined
  }
  return new X509Certificate(peer.raw)
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

export async function startFapi2Provider(
  options: Fapi2ProviderOptions,
): Promise<StartedFapi2Provider> {
  const Provider = await loadProvider()
  const keys = await Promise.all([
    serverKey('PS256'),
    serverKey('ES256'),
    ...(options.rs256 ? [serverKey('RS256')] : []),
    encryptionKey(),
  ])
  const { tls } = options
  const main: Server = tls
    ? createHttpsServer({ cert: tls.server.cert, key: tls.server.key })
    : createHttpServer()
  const mtls: Server | undefined = tls
    ? createHttpsServer({
        cert: tls.server.cert,
        key: tls.server.key,
        ca: [tls.clientCa],
        requestCert: true,
        rejectUnauthorized: false,
      })
    : undefined
  const scheme = tls ? 'https' : 'http'
  const issuer = `${scheme}://127.0.0.1:${await listen(main)}`
  const mtlsOrigin = mtls ? `https://127.0.0.1:${await listen(mtls)}` : undefined
  const profiles = new Map(options.clients.map((client) => [client.clientId, client.fapi]))
  const algs = ['PS256', 'ES256', ...(options.rs256 ? ['RS256'] : [])]
  const jwksUris = new Set(options.clients.flatMap((client) => client.jwksUri ?? []))

  const configuration = {
    clients: options.clients.map((client) => clientMetadata(client, options)),
    ...(options.refreshTokens === true
      ? { issueRefreshToken: async () => true, rotateRefreshToken: true }
      : {}),
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    async findAccount(_ctx: unknown, id: string) {
      return { accountId: id, claims: async () => ({ sub: id, name: 'Test User' }) }
    },
    claims: { openid: ['sub'], profile: ['name'] },
    scopes: ['openid', 'profile', 'email'],
    responseTypes: ['code'],
    clientAuthMethods: [
      'private_key_jwt',
      'client_secret_basic',
      'client_secret_post',
      'client_secret_jwt',
      ...(tls ? ['tls_client_auth', 'self_signed_tls_client_auth'] : []),
    ],
    enabledJWA: {
      clientAuthSigningAlgValues: [...algs, 'HS256'],
      idTokenSigningAlgValues: algs,
      requestObjectSigningAlgValues: algs,
      authorizationSigningAlgValues: algs,
      userinfoSigningAlgValues: algs,
      dPoPSigningAlgValues: ['ES256', 'EdDSA'],
    },
    pkce: { required: () => true },
    ...(mtlsOrigin
      ? {
          discovery: {
            mtls_endpoint_aliases: {
              token_endpoint: `${mtlsOrigin}/token`,
              pushed_authorization_request_endpoint: `${mtlsOrigin}/request`,
              userinfo_endpoint: `${mtlsOrigin}/me`,
              ...(options.registration?.mtlsAlias === true
                ? { registration_endpoint: `${mtlsOrigin}/reg` }
                : {}),
            },
          },
        }
      : {}),
    features: {
      fapi: {
        enabled: true,
        profile: (_ctx: unknown, client: { clientId: string } | undefined) =>
          client === undefined ? undefined : profiles.get(client.clientId),
      },
      pushedAuthorizationRequests: { enabled: true },
      requestObjects: { enabled: true },
      jwtResponseModes: { enabled: true },
      devInteractions: { enabled: true },
      encryption: { enabled: true },
      clientCredentials: { enabled: options.clientCredentials === true },
      revocation: { enabled: options.revocation === true },
      jwtUserinfo: { enabled: options.signedUserinfo === true },
      backchannelLogout: { enabled: options.backchannelLogout === true },
      ...(options.registration === undefined
        ? {}
        : {
            registration: {
              enabled: true,
              initialAccessToken: true,
              policies: { ssa: options.registration.ssaPolicy },
            },
            registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
          }),
      ...(options.rarTypes === undefined
        ? {}
        : {
            // RAR needs a resource server: the bank's API, for every request.
            resourceIndicators: {
              enabled: true,
              defaultResource: () => 'urn:bank:api',
              useGrantedResource: () => true,
              getResourceServerInfo: () => ({
                scope: 'payments accounts',
                accessTokenFormat: 'opaque',
              }),
            },
            richAuthorizationRequests: {
              enabled: true,
              types: Object.fromEntries(
                options.rarTypes.map((type) => [type, { validate: () => undefined }]),
              ),
              // Granted as requested: the code carries the consent's, the token the code's.
              authorizationDetailsForGrantSource: (ctx: RarContext) => ctx.oidc.grant?.rar,
              authorizationDetailsForAccessToken: (
                ctx: RarContext,
                _token: unknown,
                source: { rar?: unknown } | undefined,
              ) =>
                source?.rar ??
                (ctx.oidc.params.authorization_details === undefined
                  ? undefined
                  : (JSON.parse(String(ctx.oidc.params.authorization_details)) as unknown)),
              authorizationDetailsForIntrospection: (_ctx: unknown, token: { rar?: unknown }) =>
                token.rar,
            },
          }),
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => options.dpopNonces === true,
      },
      mTLS: {
        enabled: tls !== undefined,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: peerCertificate,
        certificateAuthorized: (ctx: unknown) =>
          (ctx as { socket?: Partial<TLSSocket> }).socket?.authorized === true,
        certificateSubjectMatches: (ctx: unknown, property: string, expected: string) =>
          property === 'tls_client_auth_subject_dn' &&
          peerCertificate(ctx)?.subject.split('\n').join(',') === expected,
      },
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      ...(options.refreshTokens === true ? { RefreshToken: 3600 } : {}),
    },
    clientBasedCORS: () => false,
    // oidc-provider guards its fetches against loopback addresses (SSRF); the registered client
    // JWKS URLs are on loopback here, and only those are fetched without the guard.
    // So are the apps' back-channel logout routes, with back-channel logout on.
    fetch(url: string, init: RequestInit & { dispatcher?: unknown }) {
      const target = new URL(url)
      const backchannel =
        options.backchannelLogout === true &&
        target.hostname === '127.0.0.1' &&
        target.pathname.endsWith('/backchannel-logout')
      if (!jwksUris.has(target.href) && !backchannel) return fetch(url, init)
      const { dispatcher, ...direct } = init
      void dispatcher
      return fetch(url, direct)
    },
  }

  const provider = await withoutExpectedNotices(() => new Provider(issuer, configuration))
  const handler = provider.callback()
  const counts = new Map<string, number>()
  const serve = (name: 'main' | 'mtls') => (req: IncomingMessage, res: ServerResponse) => {
    const key = `${name} ${new URL(req.url ?? '/', issuer).pathname}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
    void handler(req, res)
  }
  main.on('request', serve('main'))
  mtls?.on('request', serve('mtls'))

  let closed: Promise<void> | undefined
  return {
    issuer,
    provider,
    mtlsOrigin,
    userinfoEndpoint: `${issuer}/me`,
    initialAccessToken() {
      const Token = (
        provider as unknown as {
          InitialAccessToken: new (init: { policies: string[] }) => { save(): Promise<string> }
        }
      ).InitialAccessToken
      return new Token({ policies: ['ssa'] }).save()
    },
    requests: (server, path) => counts.get(`${server} ${path}`) ?? 0,
    close() {
      closed ??= Promise.all(
        [main, mtls].map(async (server) => {
          if (server === undefined || !server.listening) return
          server.closeAllConnections()
          server.close()
          await once(server, 'close')
        }),
      ).then(() => undefined)
      return closed
    },
  }
}
