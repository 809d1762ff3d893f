/**
 * An example bank's authorization server: a real `oidc-provider` configured as a FAPI 2.0 Message
 * Signing server (PAR, signed request objects, JARM, PKCE S256, `private_key_jwt`), with its own
 * small sign-in and consent pages and RP-initiated logout. With `paymentConsents`, it also offers
 * the client credentials grant, rich authorization requests (RFC 9396) of type
 * `payment_initiation`, and a tiny consent API (`POST /consents`, see `consents.ts`).
 *
 * The portal is registered with a `jwks_uri`: the server fetches the portal's public keys from the
 * portal itself, so rotating them is a matter of publishing new ones there. It is registered with
 * a `backchannel_logout_uri` too: when a user signs out at the bank, the bank posts a logout token
 * there (OpenID Connect Back-Channel Logout 1.0), and its ID tokens carry `sid` for it. Tokens can
 * be revoked (RFC 7009). With a `directory`, other apps register themselves (RFC 7591, managed by
 * RFC 7592) with a software statement the directory signed (see `directory.ts`).
 *
 * Development only: everything but the keys is kept in memory, and it runs over http on loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import express, { type ErrorRequestHandler, type Request, type Response } from 'express'
import type ProviderType from 'oidc-provider'
import type { Client, InteractionDetails } from 'oidc-provider'
import type { Directory } from './directory.js'
import {
  STYLESHEET,
  consentPage,
  loginPage,
  logoutPage,
  serverErrorPage,
  signedOutPage,
} from './pages.js'
import {
  PAYMENT_API,
  PAYMENT_SCOPE,
  consentApi,
  liveConsent,
  type ConsentStore,
} from './consents.js'
import { loadServerSecrets } from './secrets.js'
import { devClientMetadata } from './dev-client.js'

/** The client the server knows: the example portal. */
export interface RegisteredClient {
  readonly clientId: string
  readonly redirectUris: readonly string[]
  readonly postLogoutRedirectUris: readonly string[]
  readonly jwksUri: string
  /** Where the bank posts logout tokens (Back-Channel Logout 1.0 §2.2); its ID tokens carry `sid`. */
  readonly backchannelLogoutUri?: string
}

/** What the bank tells `onEvent`: for a developer's console, or a test. */
export type BankEvent =
  /** A token of `clientId` revoked at the revocation endpoint (RFC 7009). */
  | {
      readonly type: 'token-revoked'
      readonly clientId: string
      readonly token: 'access' | 'refresh'
    }
  /** A grant at the bank ended with its tokens (a sign-out, or a refresh token revoked). */
  | { readonly type: 'grant-revoked'; readonly clientId: string | undefined }
  /** A logout token posted to the client's `backchannel_logout_uri`, answered 200 or not. */
  | {
      readonly type: 'backchannel-logout'
      readonly clientId: string
      readonly delivered: boolean
      readonly error?: string
    }
  /** A client registered itself (RFC 7591), or updated its registration (RFC 7592). */
  | { readonly type: 'registration'; readonly clientId: string }

export interface AuthorizationServerOptions {
  /** The bank's name on its pages, e.g. `Example Bank A`. */
  readonly name: string
  /** The issuer identifier, e.g. `http://127.0.0.1:3001`. */
  readonly issuer: string
  /**
   * The prefix of its cookie names: browsers do not tell ports apart for cookies, so two servers
   * on one loopback host need names of their own.
   */
  readonly cookiePrefix: string
  /** Client credentials, RAR `payment_initiation` and the consent API `POST /consents`. */
  readonly paymentConsents?: boolean
  /** The client may use the refresh grant: every login also gets a refresh token. */
  readonly refreshTokens?: boolean
  /** Where the keys are kept. */
  readonly dataDir: string
  readonly client: RegisteredClient
  /**
   * The ecosystem's directory: with it, apps register themselves at `/reg` (RFC 7591) with a
   * software statement it signed, and manage their registration (RFC 7592).
   */
  readonly directory?: Directory
  /**
   * What happens at the bank (revocations, back-channel logouts, registrations). Default: a
   * back-channel logout that fails is written to the console, as a developer wants to know.
   */
  readonly onEvent?: (event: BankEvent) => void
  /** A development client for an app of your own (`dev-client.ts`), besides the portal. */
  readonly devClient?: RegisteredClient
}

/** The demo accounts. Every one has the password {@link DEMO_PASSWORD}. */
const ACCOUNTS: ReadonlyMap<string, { name: string; email: string }> = new Map([
  ['alice', { name: 'Alice Andersen', email: 'alice@example.test' }],
  ['bob', { name: 'Bob Berg', email: 'bob@example.test' }],
])
const DEMO_PASSWORD = 'demo'

function passwordMatches(given: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(DEMO_PASSWORD))
}

/**
 * oidc-provider's notices that are expected here: it runs on Node.js 20 (which it does not call
 * supported, yet works on) with its in-memory storage, both fine for a local example.
 */
const EXPECTED_NOTICES = ['Unsupported runtime', 'a quick start development-only in-memory adapter']

async function quietly<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    const [first] = args
    if (typeof first === 'string' && EXPECTED_NOTICES.some((notice) => first.includes(notice))) {
      return
    }
    warn.apply(console, args)
  }
  try {
    return await load()
  } finally {
    console.warn = warn
  }
}

/** oidc-provider's page hooks get a Koa context; these are the two fields they set. */
interface PageContext {
  type: string
  body: unknown
}

/** What the RAR policy functions read of oidc-provider's context. */
interface RarContext {
  readonly oidc: {
    readonly grant?: { readonly rar?: unknown }
    readonly params: Record<string, unknown>
  }
}

/** The RAR and client credentials part of the configuration, for `paymentConsents`. */
function paymentFeatures(consents: ConsentStore, clientId: string): object {
  return {
    clientCredentials: { enabled: true },
    // The client credentials tokens are for the bank's payment API (its consent API), and so
    // are those of a login with `authorization_details` (oidc-provider's RAR needs a resource);
    // the other logins' tokens stay OpenID Connect ones (userinfo).
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx: { oidc: { params: Record<string, unknown> } }) =>
        ctx.oidc.params.grant_type === 'client_credentials' ||
        ctx.oidc.params.authorization_details !== undefined
          ? PAYMENT_API
          : undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: PAYMENT_SCOPE, accessTokenFormat: 'opaque' }),
    },
    richAuthorizationRequests: {
      enabled: true,
      types: {
        payment_initiation: {
          // Only a consent this client created at the consent API.
          validate(_ctx: unknown, detail: Record<string, unknown>) {
            const consent = liveConsent(consents, String(detail.consentId))
            if (consent === undefined || consent.clientId !== clientId) {
              throw new Error('unknown payment consent')
            }
          },
        },
      },
      // Granted as consented: the code carries the grant's details, the token the code's.
      authorizationDetailsForGrantSource: (ctx: RarContext) => ctx.oidc.grant?.rar,
      authorizationDetailsForAccessToken: (
        _ctx: RarContext,
        _token: unknown,
        source: { rar?: unknown } | undefined,
      ) => source?.rar,
      authorizationDetailsForIntrospection: (_ctx: unknown, token: { rar?: unknown }) => token.rar,
    },
  }
}

/** Dynamic registration (RFC 7591) checked by the directory's policy, and management (RFC 7592). */
function registrationFeatures(
  directory: Directory,
  errors: { InvalidSoftwareStatement: new (description: string) => Error },
): object {
  return {
    registration: {
      enabled: true,
      // oidc-provider runs the policies of the request's initial access token: see `/reg` below.
      initialAccessToken: true,
      policies: { ssa: directory.policy(errors) },
    },
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
  }
}

function configuration(
  options: AuthorizationServerOptions,
  secrets: Awaited<ReturnType<typeof loadServerSecrets>>,
  consents: ConsentStore,
  /** The client URLs on loopback the bank may fetch or post to (its clients' keys and logout). */
  direct: ReadonlySet<string>,
  errors: { InvalidSoftwareStatement: new (description: string) => Error },
): object {
  const { client } = options
  const payments = options.paymentConsents === true
  const refresh = options.refreshTokens === true
  return {
    clients: [
      {
        client_id: client.clientId,
        client_name: 'Example Portal',
        application_type: 'web',
        redirect_uris: [...client.redirectUris],
        post_logout_redirect_uris: [...client.postLogoutRedirectUris],
        jwks_uri: client.jwksUri,
        response_types: ['code'],
        grant_types: [
          'authorization_code',
          ...(payments ? ['client_credentials'] : []),
          ...(refresh ? ['refresh_token'] : []),
        ],
        ...(payments ? { authorization_details_types: ['payment_initiation'] } : {}),
        response_modes: ['jwt', 'query.jwt', 'form_post.jwt', 'fragment.jwt'],
        scope: 'openid profile email',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        request_object_signing_alg: 'ES256',
        authorization_signed_response_alg: 'PS256',
        id_token_signed_response_alg: 'PS256',
        require_signed_request_object: true,
        require_pushed_authorization_requests: true,
        ...(client.backchannelLogoutUri === undefined
          ? {}
          : {
              backchannel_logout_uri: client.backchannelLogoutUri,
              // The logout token names the bank's session (`sid`), and so do the ID tokens.
              backchannel_logout_session_required: true,
            }),
      },
      ...(options.devClient === undefined ? [] : [devClientMetadata(options.devClient)]),
    ],
    jwks: { keys: [...secrets.signingKeys] },
    cookies: {
      keys: [...secrets.cookieKeys],
      names: {
        session: `${options.cookiePrefix}_session`,
        interaction: `${options.cookiePrefix}_interaction`,
        resume: `${options.cookiePrefix}_interaction_resume`,
      },
    },
    async findAccount(_ctx: unknown, id: string) {
      const account = ACCOUNTS.get(id)
      if (account === undefined) return undefined
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: account.name, email: account.email, email_verified: true }
        },
      }
    },
    // With `refreshTokens`, without asking for `offline_access`.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'profile', 'email'],
    // The scope's claims go into the ID token too, so the portal can show them without userinfo.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['PS256', 'ES256', 'EdDSA'],
      requestObjectSigningAlgValues: ['PS256', 'ES256', 'EdDSA'],
      authorizationSigningAlgValues: ['PS256', 'ES256'],
      idTokenSigningAlgValues: ['PS256', 'ES256'],
      userinfoSigningAlgValues: ['PS256', 'ES256'],
    },
    pkce: { required: () => true },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    features: {
      fapi: { enabled: true, profile: '2.0' },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
      requestObjects: { enabled: true, requireSignedRequestObject: true },
      jwtResponseModes: { enabled: true },
      devInteractions: { enabled: false },
      ...(payments ? paymentFeatures(consents, client.clientId) : {}),
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      ...(options.directory === undefined ? {} : registrationFeatures(options.directory, errors)),
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: PageContext, form: string) {
          ctx.type = 'html'
          ctx.body = logoutPage(options.name, form)
        },
        async postLogoutSuccessSource(ctx: PageContext) {
          ctx.type = 'html'
          ctx.body = signedOutPage(options.name)
        },
      },
    },
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 900,
      Session: 86_400,
      Grant: 86_400,
    },
    clientBasedCORS: () => false,
    async renderError(ctx: PageContext, out: { error?: unknown; error_description?: unknown }) {
      ctx.type = 'html'
      ctx.body = serverErrorPage(
        options.name,
        String(out.error ?? 'server_error'),
        typeof out.error_description === 'string' ? out.error_description : undefined,
      )
    },
    // oidc-provider refuses to fetch from loopback and private addresses (SSRF protection). The
    // clients are on loopback in this example: their registered jwks_uri and
    // backchannel_logout_uri (and those only) are reached directly.
    fetch(url: string, init: RequestInit & { dispatcher?: unknown }) {
      if (direct.has(new URL(url).href)) {
        const { dispatcher, ...unguarded } = init
        void dispatcher
        return fetch(url, unguarded)
      }
      return fetch(url, init)
    },
  }
}

/** The scopes the consent page lists: those not granted yet. */
function requestedScopes(details: InteractionDetails): string[] {
  return [...(details.prompt.details.missingOIDCScope ?? [])]
}

async function grantConsent(provider: ProviderType, details: InteractionDetails): Promise<string> {
  const { prompt, params, session, grantId } = details
  const clientId = String(params.client_id)
  const grant =
    (grantId === undefined ? undefined : await provider.Grant.find(grantId)) ??
    new provider.Grant({ accountId: session?.accountId ?? '', clientId })
  const missing = prompt.details
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims)
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '))
  }
  for (const detail of missing.rar ?? []) grant.addRar(detail)
  return grant.save()
}

function pageHeaders(res: Response): void {
  res.set({
    'Cache-Control': 'no-store',
    'Content-Security-Policy':
      "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  })
}

/** Passes the provider's events on to `onEvent` (or the console, for a failed logout token). */
function observe(
  provider: ProviderType,
  options: AuthorizationServerOptions,
  allowClientUrls: (client: Client) => void,
): void {
  const onEvent =
    options.onEvent ??
    ((event: BankEvent) => {
      if (event.type === 'backchannel-logout' && !event.delivered) {
        console.error(
          `${options.name}: the logout token for ${event.clientId} was not accepted (${event.error ?? 'error'})`,
        )
      }
    })
  const clientOf = (ctx: unknown) =>
    (ctx as { oidc?: { client?: Client } } | undefined)?.oidc?.client?.clientId
  for (const token of ['access', 'refresh'] as const) {
    provider.on(`${token}_token.destroyed`, ({ clientId }: { clientId: string }) => {
      onEvent({ type: 'token-revoked', clientId, token })
    })
  }
  provider.on('grant.revoked', (ctx: unknown) => {
    onEvent({ type: 'grant-revoked', clientId: clientOf(ctx) })
  })
  provider.on('backchannel.success', (_ctx: unknown, client: Client) => {
    onEvent({ type: 'backchannel-logout', clientId: client.clientId, delivered: true })
  })
  provider.on('backchannel.error', (_ctx: unknown, error: unknown, client: Client) => {
    const message = error instanceof Error ? error.message : String(error)
    onEvent({
      type: 'backchannel-logout',
      clientId: client.clientId,
      delivered: false,
      error: message,
    })
  })
  for (const name of ['registration_create.success', 'registration_update.success']) {
    provider.on(name, (_ctx: unknown, client: Client) => {
      allowClientUrls(client)
      onEvent({ type: 'registration', clientId: client.clientId })
    })
  }
}

/** Builds the authorization server as an Express app: its pages first, then oidc-provider. */
export async function createAuthorizationServer(
  options: AuthorizationServerOptions,
): Promise<express.Express> {
  const secrets = await loadServerSecrets(options.dataDir)
  const consents: ConsentStore = new Map()
  const { default: Provider, errors } = await quietly(() => import('oidc-provider'))
  const direct = new Set<string>()
  const allowClientUrls = (client: Client | RegisteredClient) => {
    for (const url of [client.jwksUri, client.backchannelLogoutUri]) {
      if (url !== undefined) direct.add(new URL(url).href)
    }
  }
  allowClientUrls(options.client)
  if (options.devClient !== undefined) allowClientUrls(options.devClient)
  const provider = await quietly(
    async () =>
      new Provider(options.issuer, configuration(options, secrets, consents, direct, errors)),
  )
  const bank = options.name
  provider.on('server_error', (_ctx: unknown, error: unknown) => {
    console.error('authorization server: internal error', error)
  })
  observe(provider, options, allowClientUrls)

  const app = express()
  app.disable('x-powered-by')
  app.get('/assets/as.css', (_req, res) => {
    res.type('css').set('Cache-Control', 'public, max-age=600').send(STYLESHEET)
  })

  app.get('/interaction/:uid', async (req: Request, res: Response) => {
    const details = await provider.interactionDetails(req, res)
    const clientId = String(details.params.client_id)
    pageHeaders(res)
    if (details.prompt.name === 'login') {
      res.send(loginPage({ bank, uid: details.uid, clientId }))
    } else if (details.prompt.name === 'consent') {
      res.send(
        consentPage({
          bank,
          uid: details.uid,
          clientId,
          scopes: requestedScopes(details),
          details: details.prompt.details.rar ?? [],
        }),
      )
    } else {
      res
        .status(501)
        .send(serverErrorPage(bank, 'not_implemented', `prompt ${details.prompt.name}`))
    }
  })

  app.post(
    '/interaction/:uid/login',
    express.urlencoded({ extended: false, limit: '4kb' }),
    async (req: Request, res: Response) => {
      const details = await provider.interactionDetails(req, res)
      const body: unknown = req.body
      const fields =
        typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
      const login = typeof fields.login === 'string' ? fields.login.trim().toLowerCase() : ''
      const password = typeof fields.password === 'string' ? fields.password : ''
      if (details.prompt.name !== 'login' || !ACCOUNTS.has(login) || !passwordMatches(password)) {
        pageHeaders(res)
        res.status(401).send(
          loginPage({
            bank,
            uid: details.uid,
            clientId: String(details.params.client_id),
            login,
            failed: true,
          }),
        )
        return
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: login } },
        { mergeWithLastSubmission: false },
      )
    },
  )

  app.post('/interaction/:uid/confirm', async (req: Request, res: Response) => {
    const details = await provider.interactionDetails(req, res)
    if (details.prompt.name !== 'consent') throw new Error('no consent is pending')
    const grantId = await grantConsent(provider, details)
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    )
  })

  app.post('/interaction/:uid/abort', async (req: Request, res: Response) => {
    await provider.interactionDetails(req, res)
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user denied the request.' },
      { mergeWithLastSubmission: false },
    )
  })

  // An interaction that expired or belongs to another browser.
  const interactionError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error)
      return
    }
    pageHeaders(res)
    const name = error instanceof Error ? error.name : 'Error'
    // Often the back button after a finished sign-in: lead back to the app, not to a dead end.
    const [redirectUri] = options.client.redirectUris
    const home = redirectUri === undefined ? undefined : `${new URL(redirectUri).origin}/`
    const finished = name === 'SessionNotFound'
    res
      .status(400)
      .send(
        serverErrorPage(
          bank,
          'interaction_failed',
          finished
            ? 'You have already finished (or left) this sign-in; it cannot be used again.'
            : `This sign-in cannot continue (${name}). Start again from the portal.`,
          home === undefined ? undefined : { href: home, label: 'Back to the portal' },
          finished ? 'This sign-in is over' : undefined,
        ),
      )
  }
  app.use('/interaction', interactionError)

  if (options.paymentConsents === true) {
    app.use('/consents', consentApi({ provider, issuer: options.issuer, consents }))
  }
  if (options.directory !== undefined) {
    // Registration is open to any app with a software statement of the directory, with no
    // initial access token; oidc-provider runs registration policies only for a request with
    // one, so each request without one gets a one-time token carrying the statement check.
    app.post('/reg', (req, res, next) => {
      if (req.headers.authorization !== undefined) {
        next()
        return
      }
      const token = new provider.InitialAccessToken({ policies: ['ssa'], expiresIn: 60 })
      token.save().then((value) => {
        req.headers.authorization = `Bearer ${value}`
        res.on('close', () => void token.destroy().catch(() => undefined))
        next()
      }, next)
    })
  }
  app.use(provider.callback())
  return app
}
