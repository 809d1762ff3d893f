/**
 * The example portal: an Express app that logs users in with express-fapi against a FAPI 2.0
 * Message Signing authorization server, the way an application would use the library.
 *
 * One client (`portal`), one callback: each login picks its JARM response mode (`jwt`, the
 * library's default, `query.jwt`, `form_post.jwt` or `fragment.jwt`) through `responseModes`. The
 * client's `onEvent` trace of each browser's last login is shown at `/account/trace`.
 */
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
} from 'express'
import session from 'express-session'
import {
  AuthorizationError,
  FapiError,
  fapiClient,
  type FapiEvent,
  type ResponseMode,
} from '../../src/index.js'
import type { PortalSecrets } from './secrets.js'
import {
  CALLBACK_PATH,
  RESPONSE_MODES,
  STYLESHEET,
  accountPage,
  errorPage,
  homePage,
  tracePage,
} from './views.js'

declare module 'express-session' {
  interface SessionData {
    /** The trace id of the login in this session (its `onEvent` events). */
    traceId?: string
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
    redirectUris: [`${origin}${CALLBACK_PATH}`],
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

  // The trace of recent logins, by trace id (bounded: the oldest go first).
  const traces = new Map<string, FapiEvent[]>()
  const onEvent = (event: FapiEvent): void => {
    if (event.traceId === undefined) return
    const events = traces.get(event.traceId) ?? []
    if (events.length === 0) {
      traces.set(event.traceId, events)
      for (const id of traces.keys()) {
        if (traces.size <= 200) break
        traces.delete(id)
      }
    }
    events.push(event)
  }
  const modeOf = (traceId: string | undefined): string | undefined => {
    const started = traces.get(traceId ?? '')?.find((event) => event.type === 'login.started')
    return started?.type === 'login.started' ? started.responseMode : undefined
  }

  const auth = fapiClient({
    issuer,
    clientId: registration.clientId,
    redirectUri: `${origin}${CALLBACK_PATH}`,
    keys: { signing: [...secrets.signingKeys] },
    profile: 'fapi2-message-signing',
    // 'jwt' is the library's default; a login may ask for the other JARM modes.
    responseMode: 'jwt',
    responseModes: RESPONSE_MODES.map(({ mode }) => mode),
    scope: 'openid profile email',
    postLogoutRedirectUri: `${origin}/`,
    onEvent,
    // Development on http://localhost and http://127.0.0.1 only; never http anywhere else.
    allowInsecureLoopback: true,
  })

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

  app.get('/', (req, res) => {
    const login = auth.currentLogin(req)
    const name = login === undefined ? undefined : String(login.claims.name ?? login.claims.sub)
    res.send(homePage({ name, defaultMode: options.defaultResponseMode }))
  })

  // Login (`?mode=` picks the response mode; the library refuses one it does not allow),
  // callback, logout and JWKS, in one router.
  app.use(
    auth.router(undefined, {
      login: {
        responseMode: (req: Request) =>
          (typeof req.query.mode === 'string'
            ? req.query.mode
            : options.defaultResponseMode) as ResponseMode,
      },
      callback: {
        onLogin: (req: Request, res: Response, { returnTo, traceId }) => {
          if (traceId !== undefined) req.session.traceId = traceId
          res.redirect(303, returnTo)
        },
      },
    }),
  )

  app.get('/account', auth.requiresAuth(), (req, res) => {
    const login = auth.currentLogin(req)
    if (login === undefined) throw new Error('requiresAuth let an anonymous request through')
    res.set('Cache-Control', 'no-store')
    res.send(accountPage({ login, responseMode: modeOf(req.session.traceId), now: Date.now() }))
  })

  app.get('/account/trace', auth.requiresAuth(), (req, res) => {
    res.set('Cache-Control', 'no-store')
    res.send(tracePage({ events: traces.get(req.session.traceId ?? '') ?? [] }))
  })

  app.use((req, res) => {
    res.status(404).send(
      errorPage({
        code: 'NOT_FOUND',
        sentence: 'There is no such page.',
        signedIn: auth.isAuthenticated(req),
      }),
    )
  })

  const onError: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err)
      return
    }
    const signedIn = auth.isAuthenticated(req)
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
