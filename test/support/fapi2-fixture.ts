/**
 * One real oidc-provider with DPoP, mTLS and encryption (`provider-fapi2.ts`) and one real Express
 * app with express-fapi configured for a profile and a binding, for a test; plus the steps of a
 * login and a route that calls `fetchResource()` with the user's token.
 */
import type { TestContext } from 'node:test'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import type { Express } from 'express'
import type {
  FapiClient,
  ClientAuthMethod,
  EncryptionOptions,
  FapiClientOptions,
  Profile,
  ResponseMode,
  SenderConstraint,
} from '../../src/index.js'
import { memoryGrantStore } from '../../src/index.js'
import { rewriteGrant } from './grants.js'
import { AppBrowser, startApp, type StartedApp } from './app.js'
import { testCertificates } from './certs.js'
import { generateJwks } from './keys.js'
import {
  startFapi2Provider,
  type Fapi2ProviderOptions,
  type StartedFapi2Provider,
} from './provider-fapi2.js'
import { fetchTrusting } from './tls-fetch.js'
import { UserAgent, type CallbackDelivery } from './user-agent.js'

export interface Fapi2Case {
  readonly profile: Profile
  readonly senderConstraint: SenderConstraint
  readonly clientAuthMethod?: ClientAuthMethod
  readonly responseMode?: ResponseMode
  readonly par?: boolean
  readonly requestObject?: boolean
  /** https with an mTLS alias server (implied by mTLS binding or client authentication). */
  readonly tls?: boolean
  readonly dpopNonces?: boolean
  readonly encryption?: EncryptionOptions
  readonly alg?: 'PS256' | 'ES256' | 'RS256'
  /** The server issues rotating refresh tokens. */
  readonly refreshTokens?: boolean
  /** The client secret registered at the server (the `client_secret_*` methods). */
  readonly clientSecret?: string
  /** The client's clock (milliseconds). */
  readonly now?: () => number
  /** Server features beside the login's: client credentials, RAR, revocation, signed userinfo. */
  readonly server?: Pick<
    Fapi2ProviderOptions,
    'clientCredentials' | 'rarTypes' | 'revocation' | 'signedUserinfo'
  >
  /** Client options beside the case's. */
  readonly client?: Partial<FapiClientOptions>
  /** More Express routes. */
  readonly routes?: (router: Express, client: FapiClient) => void
}

export interface Fapi2Login {
  readonly app: StartedApp
  readonly as: StartedFapi2Provider
  readonly browser: AppBrowser
  readonly agent: UserAgent
  /** Starts a login at the app and signs in at the server; returns the delivery, not sent. */
  authorize(): Promise<CallbackDelivery>
  /** Asks the app to call `url` with `fetchResource()`; returns the status and body it saw. */
  resource(url: string): Promise<{ status: number; body: unknown }>
}

const FAPI: Readonly<Record<Profile, '1.0 Final' | '2.0' | undefined>> = {
  'fapi2-security': '2.0',
  'fapi2-message-signing': '2.0',
  'fapi1-advanced': '1.0 Final',
  oidc: undefined,
}

async function encryptionKey(): Promise<{ privateJwk: JWK & { kid: string }; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RSA-OAEP-256', {
    extractable: true,
    modulusLength: 2048,
  })
  const kid = 'portal-enc'
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid },
    publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'enc', alg: 'RSA-OAEP-256' },
  }
}

export async function startFapi2Login(t: TestContext, c: Fapi2Case): Promise<Fapi2Login> {
  const grants = memoryGrantStore()
  const alg = c.alg ?? 'ES256'
  const signing = await generateJwks(alg, `portal-${alg}`)
  const method = c.clientAuthMethod ?? 'private_key_jwt'
  const tls =
    c.tls === true ||
    c.senderConstraint === 'mtls' ||
    method === 'tls_client_auth' ||
    method === 'self_signed_tls_client_auth'
      ? await testCertificates()
      : undefined
  const encrypted = c.encryption?.idToken === true || c.encryption?.authorizationResponse === true
  const enc = encrypted ? await encryptionKey() : undefined
  const certificate = method === 'self_signed_tls_client_auth' ? tls?.selfSigned : tls?.client
  let as: StartedFapi2Provider | undefined
  const app = await startApp({
    client: async ({ redirectUri, jwksUri }) => {
      as = await startFapi2Provider({
        ...(tls ? { tls } : {}),
        dpopNonces: c.dpopNonces === true,
        rs256: alg === 'RS256',
        refreshTokens: c.refreshTokens === true,
        ...c.server,
        clients: [
          {
            clientId: 'portal',
            redirectUri,
            // Through the app's own jwks() route: it must publish what the server needs.
            jwksUri,
            fapi: FAPI[c.profile],
            signingAlg: alg,
            authMethod: method,
            ...(c.clientSecret === undefined ? {} : { clientSecret: c.clientSecret }),
            binding: c.senderConstraint,
            responseModes: [c.responseMode ?? 'query', 'jwt', 'query.jwt', 'form_post.jwt'],
            requirePar: c.par !== false && c.profile !== 'oidc',
            requireRequestObject: c.requestObject ?? false,
            ...(c.encryption?.idToken
              ? { encryptIdToken: { alg: 'RSA-OAEP-256', enc: 'A256GCM' } }
              : {}),
            ...(c.encryption?.authorizationResponse
              ? { encryptAuthorizationResponse: { alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256' } }
              : {}),
          },
        ],
      })
      const options: FapiClientOptions = {
        issuer: as.issuer,
        clientId: 'portal',
        redirectUri,
        keys: {
          signing: [alg === 'RS256' ? { ...signing.privateJwk, alg: 'RS256' } : signing.privateJwk],
          ...(enc ? { encryption: [enc.privateJwk] } : {}),
        },
        profile: c.profile,
        senderConstraint: c.senderConstraint,
        clientAuthMethod: method,
        ...(c.clientSecret === undefined ? {} : { clientSecret: c.clientSecret }),
        scope: 'openid profile',
        allowInsecureLoopback: true,
        ...(c.now ? { now: c.now } : {}),
        ...(c.responseMode ? { responseMode: c.responseMode } : {}),
        ...(c.par === undefined ? {} : { pushedAuthorizationRequests: c.par }),
        ...(c.requestObject === undefined ? {} : { requestObject: c.requestObject }),
        ...(c.encryption ? { encryption: c.encryption } : {}),
        ...(alg === 'RS256' ? { algorithms: ['RS256', 'PS256', 'ES256'] as const } : {}),
        ...(tls
          ? {
              tls: {
                ca: tls.serverCa,
                ...(certificate ? { cert: certificate.cert, key: certificate.key } : {}),
              },
            }
          : {}),
        grants,
        ...c.client,
      }
      return options
    },
    routes(router, client) {
      router.get('/resource', (req, res, next) => {
        client
          .fetchResource(req, String(req.query.url))
          .then(async (answer) => res.json({ status: answer.status, body: await answer.json() }))
          .catch(next)
      })
      router.get('/userinfo-claims', (req, res, next) => {
        client.userinfo(req).then((claims) => res.json(claims), next)
      })
      router.post('/refresh', (req, res, next) => {
        client.refresh(req).then((result) => res.json(result), next)
      })
      // A test's view of the stored login, and a way to put an old refresh token back.
      router.get('/stored', (req, res, next) => {
        client.currentLogin(req).then((login) => res.json(login ?? null), next)
      })
      router.post('/stored/refresh-token', (req, res, next) => {
        const refreshToken = String(req.query.value)
        client
          .currentLogin(req)
          .then((login) =>
            login === undefined
              ? false
              : rewriteGrant(grants, login.id, (body) => ({
                  ...body,
                  tokens: { ...(body.tokens as object), refreshToken },
                })),
          )
          .then((done) => res.status(done ? 204 : 404).end(), next)
      })
      c.routes?.(router, client)
    },
  })
  const server = as as StartedFapi2Provider | undefined
  if (server === undefined) throw new Error('the provider did not start')
  t.after(async () => {
    await app.close()
    await server.close()
  })
  const browser = new AppBrowser(app.origin)
  const agent = new UserAgent(tls ? { fetch: fetchTrusting(tls.serverCa) } : {})
  return {
    app,
    as: server,
    browser,
    agent,
    async authorize() {
      return agent.authorize(await browser.startLogin(), { redirectUri: app.redirectUri })
    },
    async resource(url) {
      const answer = await browser.request(`/resource?${new URLSearchParams({ url })}`)
      return (await answer.json()) as { status: number; body: unknown }
    },
  }
}
