/**
 * The example portal: an Express app that logs users in with express-fapi against a FAPI 2.0
 * Message Signing authorization server, the way an application would use the library.
 *
 * One client registration (`portal`) with one callback per JARM response mode, so that the home
 * page can offer all three: `query.jwt`, `form_post.jwt` and `fragment.jwt`.
 */
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
} from 'express'
import session from 'express-session'
import { AuthorizationError, FapiError, fapiClient, type ResponseMode } from '../../src/index.js'
import type { PortalSecrets } from './secrets.js'
import { RESPONSE_MODES, STYLESHEET, accountPage, errorPage, homePage } from './views.js'

declare module 'express-session' {
  interface SessionData {
    /** The response mode of the login in this session, shown on the account page. */
    responseMode?: ResponseMode
  }
}

export interface PortalOptions {
  /** Where the portal is reached, e.g. `http://localhost:3000` (https in production). */
  readonly origin: string
  /** The authorization server's issuer identifier. */
  readonly issuer: string
  readonly secrets: PortalSecrets
  /** The mode picked on the home page, and used when a protected page starts the login. */
  readonly defaultResponseMode: ResponseMode
  /**
   * The session cookie's SameSite attribute: `'lax'` (default), or `'unset'` for express-session's
   * default cookie, which has none (Chromium then treats it as Lax after two minutes).
   */
  readonly sessionCookieSameSite?: 'lax' | 'unset'
}

/** The client registration the authorization server needs for this portal. */
export function portalRegistration(origin: string): {
  clientId: string
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  jwksUri: string
} {
  return {
    clientId: 'portal',
    redirectUris: RESPONSE_MODES.map(({ callbackPath }) => `${origin}${callbackPath}`),
    postLogoutRedirectUris: [`${origin}/`],
    jwksUri: `${origin}/.well-known/jwks.json`,
  }
}

/** A sentence for people, for each kind of failure; the code is shown beside it. */
function sentenceFor(error: FapiError): string {
  if (error instanceof AuthorizationError) {
    return error.error === 'access_denied'
      ? 'You declined to let the portal use your account, so you are not signed in.'
      : `The sign-in server refused the request (${error.error}).`
  }
  const code = error.code
  if (code === 'ERR_TRANSACTION_NOT_FOUND') {
    return 'This sign-in was already used, was started in another browser, or came back without your session. Please log in again.'
  }
  if (code === 'ERR_TRANSACTION_EXPIRED') return 'This sign-in took too long. Please log in again.'
  if (code.startsWith('ERR_RESPONSE_MODE') || code.startsWith('ERR_CALLBACK')) {
    return 'The answer of the sign-in server arrived in a form the portal did not ask for.'
  }
  if (code.startsWith('ERR_JARM') || code.startsWith('ERR_ID_TOKEN')) {
    return 'The answer of the sign-in server could not be verified, so it was not used.'
  }
  if (code.startsWith('ERR_AS') || code.startsWith('ERR_DISCOVERY')) {
    return 'The sign-in server cannot be reached right now. Please try again in a moment.'
  }
  return 'Signing in failed. Please try again.'
}

function securityHeaders(issuer: string): RequestHandler {
  // Forms may lead to the authorization server (login and logout redirect there).
  const csp = [
    "default-src 'none'",
    "style-src 'self'",
    `form-action 'self' ${new URL(issuer).origin}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  return function portalSecurityHeaders(_req, res, next) {
    res.set({
      'Content-Security-Policy': csp,
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    })
    next()
  }
}

/** Builds the portal's Express app. */
export function createPortal(options: PortalOptions): express.Express {
  const { origin, issuer, secrets } = options
  const registration = portalRegistration(origin)

  // One client per response mode: same registration and keys, each with its own callback.
  const clients = RESPONSE_MODES.map(({ mode, callbackPath }) => ({
    mode,
    callbackPath,
    client: fapiClient({
      issuer,
      clientId: registration.clientId,
      redirectUri: `${origin}${callbackPath}`,
      keys: { signing: [...secrets.signingKeys] },
      profile: 'fapi2-message-signing',
      responseMode: mode,
      scope: 'openid profile email',
      postLogoutRedirectUri: `${origin}/`,
      // Development on http://localhost and http://127.0.0.1 only; never http anywhere else.
      allowInsecureLoopback: true,
    }),
  }))
  // The default mode's client guards pages and logs out (all share the registration).
  const auth = clients.find(({ mode }) => mode === options.defaultResponseMode)?.client
  if (auth === undefined) {
    throw new TypeError(`unknown response mode ${options.defaultResponseMode}`)
  }

  const app = express()
  app.disable('x-powered-by')
  app.use(securityHeaders(issuer))
  app.use(
    session({
      name: 'portal.sid',
      secret: secrets.sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: {
        httpOnly: true,
        secure: origin.startsWith('https:'),
        ...(options.sessionCookieSameSite === 'unset' ? {} : { sameSite: 'lax' as const }),
      },
    }),
  )

  app.get('/portal.css', (_req, res) => {
    res.type('css').set('Cache-Control', 'public, max-age=600').send(STYLESHEET)
  })
  app.get('/.well-known/jwks.json', auth.jwks())

  app.get('/', (req, res) => {
    const login = req.session.fapi?.login
    const name = login === undefined ? undefined : String(login.claims.name ?? login.claims.sub)
    res.send(homePage({ name, defaultMode: options.defaultResponseMode }))
  })

  // `?mode=` picks the client, which then reads `?returnTo=` itself.
  const logins = clients.map(({ mode, client }) => ({ mode, login: client.login() }))
  app.get('/auth/login', (req, res, next) => {
    const requested = req.query.mode ?? options.defaultResponseMode
    const login = logins.find(({ mode }) => mode === requested)?.login
    if (login === undefined) {
      res.status(400).send(
        errorPage({
          code: 'UNKNOWN_MODE',
          sentence: 'Pick one of the offered ways to sign in.',
          signedIn: false,
        }),
      )
      return
    }
    login(req, res, next)
  })

  for (const { mode, callbackPath, client } of clients) {
    app.all(
      callbackPath,
      client.callback((req: Request, res: Response, { returnTo }) => {
        req.session.responseMode = mode
        res.redirect(303, returnTo)
      }),
    )
  }

  app.get('/account', auth.requiresAuth(), (req, res) => {
    const login = req.session.fapi?.login
    if (login === undefined) throw new Error('requiresAuth let an anonymous request through')
    res.set('Cache-Control', 'no-store')
    res.send(accountPage({ login, responseMode: req.session.responseMode, now: Date.now() }))
  })

  app.post('/auth/logout', auth.logout())

  app.use((req, res) => {
    res.status(404).send(
      errorPage({
        code: 'NOT_FOUND',
        sentence: 'There is no such page.',
        signedIn: req.session.fapi?.login !== undefined,
      }),
    )
  })

  const onError: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err)
      return
    }
    const signedIn = req.session?.fapi?.login !== undefined
    res.set('Cache-Control', 'no-store')
    if (err instanceof FapiError) {
      res
        .status(err.status)
        .send(errorPage({ code: err.code, sentence: sentenceFor(err), signedIn }))
      return
    }
    console.error('portal: unexpected error', err)
    res.status(500).send(
      errorPage({
        code: 'INTERNAL',
        sentence: 'Something went wrong on our side. Please try again.',
        signedIn,
      }),
    )
  }
  app.use(onError)
  return app
}
