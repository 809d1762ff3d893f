/**
 * The example portal: a small aggregator, an Express app that links a user's accounts at two
 * banks with express-fapi, the way an application would use the library.
 *
 * `fapiClients()` holds one client per bank (registered at each as `portal`) under one router and
 * one callback: the login names its bank (`/auth/login?server=bank-b`; bank A when none), and
 * each login picks its JARM response mode (`jwt`, the library's default, `query.jwt`,
 * `form_post.jwt` or `fragment.jwt`) through `responseModes`. `/connect` links a bank; for bank A
 * it can first create a payment consent at the bank's consent API with a client credentials
 * token (`fetchAsClient()`) and have the user authorize it through `authorization_details` (RFC
 * 9396). The account page shows what each bank granted. The `onEvent` trace of each browser's
 * last login is shown at `/account/trace`.
 */
import { createHash } from 'node:crypto'
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
  fapiClients,
  type FapiClientOptions,
  type FapiEvent,
  type GrantStore,
  type ResponseMode,
} from '../../src/index.js'
import { isSameOrigin } from '../shared/same-origin.js'
import type { PortalSecrets } from './secrets.js'
import {
  BACKCHANNEL_LOGOUT_PATH,
  CALLBACK_PATH,
  RESPONSE_MODES,
  STYLESHEET,
  BANKS,
  accountPage,
  connectPage,
  errorPage,
  homePage,
  signedOutPage,
  tracePage,
} from './views.js'

declare module 'express-session' {
  interface SessionData {
    /** The trace id of the login in this session (its `onEvent` events). */
    traceId?: string
  }
}

/** The banks' names in the portal (`?server=`), in the order the pages list them. */
export type BankName = 'bank-a' | 'bank-b'

/** The payment the "Connect" page offers to authorize at bank A. */
export const DEMO_PAYMENT = { amount: '10.00', currency: 'EUR', creditorName: 'Example Shop' }

export interface PortalOptions {
  /** Where the portal is reached, e.g. `http://localhost:3000` (https in production). */
  readonly origin: string
  /** Each bank's issuer identifier. */
  readonly issuers: Readonly<Record<BankName, string>>
  readonly secrets: PortalSecrets
  /** The mode picked on the home page, and used when a protected page starts the login. */
  readonly defaultResponseMode: ResponseMode
  /**
   * The session cookie's SameSite attribute: `'lax'` (default), or `'unset'` for express-session's
   * default cookie, which has none (Chromium then treats it as Lax after two minutes).
   */
  readonly sessionCookieSameSite?: 'lax' | 'unset'
  /** Where the banks' grants live. Default: this process's memory. */
  readonly grants?: GrantStore
}

/** The client registration the authorization server needs for this portal. */
export function portalRegistration(origin: string): {
  clientId: string
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  jwksUri: string
  backchannelLogoutUri: string
} {
  return {
    clientId: 'portal',
    redirectUris: [`${origin}${CALLBACK_PATH}`],
    postLogoutRedirectUris: [`${origin}/signed-out`],
    jwksUri: `${origin}/.well-known/jwks.json`,
    // `banks.router()` mounts the back-channel logout route there for both banks.
    backchannelLogoutUri: `${origin}${BACKCHANNEL_LOGOUT_PATH}`,
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
  if (code === 'ERR_INVALID_RETURN_TO') {
    return 'The sign-in link asked to go afterwards to an address that is not a page of this portal, so the portal did not start it: a link from elsewhere may try to send you to another site. Start from the portal’s own pages.'
  }
  if (code.startsWith('ERR_RESPONSE_MODE') || code.startsWith('ERR_CALLBACK')) {
    return 'The answer of the sign-in server arrived in a form the portal did not ask for.'
  }
  if (code.startsWith('ERR_JARM') || code.startsWith('ERR_ID_TOKEN')) {
    return 'The answer of the sign-in server could not be verified, so it was not used.'
  }
  if (code.startsWith('ERR_AS') || code.startsWith('ERR_DISCOVERY')) {
    return 'The sign-in server cannot be reached right now. Please try again in a moment.'
  }
  if (code === 'ERR_LOGIN_OWNER_MISSING') {
    return 'Example Bank B links to the account you sign in with at Example Bank A. Sign in there first, then connect Example Bank B.'
  }
  return 'Signing in failed. Please try again.'
}

/** The error page's heading: what happened, in a few words. */
function headingFor(error: FapiError): string {
  const code = error.code
  if (code.startsWith('ERR_AS') || code.startsWith('ERR_DISCOVERY')) {
    return 'The bank cannot be reached'
  }
  if (code === 'ERR_INVALID_RETURN_TO') {
    return 'That address is not part of the portal'
  }
  if (code === 'ERR_TRANSACTION_NOT_FOUND' || code === 'ERR_TRANSACTION_EXPIRED') {
    return 'This sign-in cannot be finished'
  }
  if (code === 'ERR_LOGIN_OWNER_MISSING') return 'Sign in with Example Bank A first'
  return 'Sign-in did not work'
}

function securityHeaders(issuers: readonly string[]): RequestHandler {
  // Forms may lead to the authorization servers (login and logout redirect there).
  const csp = [
    "default-src 'none'",
    "style-src 'self'",
    `form-action 'self' ${issuers.map((issuer) => new URL(issuer).origin).join(' ')}`,
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
  const { origin, issuers, secrets } = options
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
  // The trace id of each grant, by its id (the app's session data is renewed at each login,
  // the library's grants are kept: this is how a bank linked earlier keeps its trace).
  const traceOfLogin = new Map<string, string>()

  const common = {
    clientId: registration.clientId,
    redirectUri: `${origin}${CALLBACK_PATH}`,
    keys: { signing: [...secrets.signingKeys] },
    profile: 'fapi2-message-signing',
    // 'jwt' is the library's default; a login may ask for the other JARM modes.
    responseMode: 'jwt',
    responseModes: RESPONSE_MODES.map(({ mode }) => mode),
    scope: 'openid profile email',
    postLogoutRedirectUri: `${origin}/signed-out`,
    onEvent,
    ...(options.grants === undefined ? {} : { grants: options.grants }),
    // Development on http://localhost and http://127.0.0.1 only; never http anywhere else.
    allowInsecureLoopback: true,
  } satisfies Omit<FapiClientOptions, 'issuer'>
  // Bank A says who the user is (the session's owner); bank B links to that owner, and a login
  // at bank A as someone else starts a fresh session with no bank-B grant.
  const banks = fapiClients(
    {
      'bank-a': { ...common, issuer: issuers['bank-a'] },
      'bank-b': { ...common, issuer: issuers['bank-b'] },
    },
    { identity: 'bank-a' },
  )
  const bankA = banks.client('bank-a')
  const linked = (req: Request) => banks.currentLogins(req)
  const signedIn = async (req: Request) => Object.keys(await linked(req)).length > 0

  const app = express()
  app.disable('x-powered-by')
  app.use(securityHeaders(Object.values(issuers)))
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

  app.get('/', async (req, res) => {
    const [login] = Object.values(await linked(req))
    const name = login === undefined ? undefined : String(login.claims.name ?? login.claims.sub)
    res.send(homePage({ name, defaultMode: options.defaultResponseMode }))
  })

  // Where the bank sends the browser back after logging out.
  app.get('/signed-out', async (req, res) => {
    res.set('Cache-Control', 'no-store')
    res.send(signedOutPage({ signedIn: await signedIn(req) }))
  })

  app.get('/connect', async (req, res) => {
    res.set('Cache-Control', 'no-store')
    res.send(
      connectPage({
        linked: Object.keys(await linked(req)),
        signedIn: await signedIn(req),
        payment: DEMO_PAYMENT,
      }),
    )
  })

  // Every route that changes something answers only pages of this origin (Fetch Metadata, or
  // Origin): a form on another site cannot create a consent or log the user out.
  const sameOriginOnly: RequestHandler = (req, res, next) => {
    if (isSameOrigin(req, origin)) {
      next()
      return
    }
    signedIn(req).then(
      (yes) =>
        res
          .status(403)
          .set('Cache-Control', 'no-store')
          .send(
            errorPage({
              heading: 'Request refused',
              code: 'CROSS_SITE_REQUEST',
              sentence:
                'This request came from another site, so the portal did not act on it. Use the buttons of the portal itself.',
              signedIn: yes,
            }),
          ),
      next,
    )
  }

  // Bank A, with a payment: the consent is created at the bank's consent API with a client
  // credentials token of the portal itself, for the signed-in user (named to the bank by an
  // opaque reference), then authorized by that user in the login.
  app.post('/connect/bank-a/payment', sameOriginOnly, async (req, res, next) => {
    const [user] = Object.values(await linked(req))
    if (user === undefined) {
      // A consent only for someone signed in: sign in first, then come back to /connect.
      res.redirect(303, '/auth/login?server=bank-a&returnTo=%2Fconnect')
      return
    }
    try {
      const userReference = createHash('sha256')
        .update(`${user.issuer} ${String(user.claims.sub)}`)
        .digest('base64url')
      const created = await bankA.fetchAsClient(
        new URL('/consents', issuers['bank-a']).href,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...DEMO_PAYMENT, userReference }),
        },
        { scope: 'payments' },
      )
      if (created.status === 429) {
        res
          .status(429)
          .set('Cache-Control', 'no-store')
          .send(
            errorPage({
              heading: 'Too many payments waiting',
              code: 'TOO_MANY_CONSENTS',
              sentence:
                'Several payments you started still wait for your authorization at the bank. Finish one, or wait a quarter of an hour for them to expire, then try again.',
              signedIn: true,
            }),
          )
        return
      }
      if (created.status !== 201) {
        throw new Error(`the consent API answered ${String(created.status)}`)
      }
      const { consentId } = (await created.json()) as { consentId: string }
      await bankA.startLogin(req, res, {
        authorizationParams: {
          authorization_details: [
            {
              type: 'payment_initiation',
              consentId,
              instructedAmount: { amount: DEMO_PAYMENT.amount, currency: DEMO_PAYMENT.currency },
              creditorName: DEMO_PAYMENT.creditorName,
            },
          ],
        },
        returnTo: '/account',
        responseMode: options.defaultResponseMode,
      })
    } catch (error) {
      next(error)
    }
  })

  // Login (`?server=` picks the bank, bank A when none; `?mode=` the response mode: the library
  // refuses one it does not allow) and the one callback for both banks, in one router.
  app.use(
    banks.router({
      select: (req: Request) =>
        typeof req.query.server === 'string' ? req.query.server : 'bank-a',
      login: {
        responseMode: (req: Request) =>
          (typeof req.query.mode === 'string'
            ? req.query.mode
            : options.defaultResponseMode) as ResponseMode,
      },
      callback: {
        onLogin: (req: Request, res: Response, { grantId, returnTo, traceId }) => {
          if (traceId !== undefined) {
            req.session.traceId = traceId
            traceOfLogin.set(grantId, traceId)
            for (const id of traceOfLogin.keys()) {
              if (traceOfLogin.size <= 1000) break
              traceOfLogin.delete(id)
            }
          }
          res.redirect(303, returnTo)
        },
      },
    }),
  )
  app.get('/.well-known/jwks.json', bankA.jwks())
  // Logging out ends the portal's session, so every bank's link; the browser then signs out at
  // the first linked bank.
  app.post('/auth/logout', sameOriginOnly, async (req, res, next) => {
    const [first] = Object.keys(await linked(req))
    banks.client(first ?? 'bank-a').logout()(req, res, next)
  })

  // Unlinking one bank: its grant ends (the library revokes its tokens at the bank), the other
  // banks stay linked. With none left, the "Connect your bank" page.
  app.post('/account/unlink/:bank', sameOriginOnly, async (req, res, next) => {
    const bank = BANKS.find(({ id }) => id === req.params.bank)
    if (bank === undefined) {
      next()
      return
    }
    try {
      await banks.unlink(req, bank.id)
      const left = await signedIn(req)
      res.redirect(303, left ? `/account?unlinked=${bank.id}` : '/connect')
    } catch (error) {
      next(error)
    }
  })

  // Signed in: at least one bank linked. Otherwise a login at bank A.
  const loginAtBankA = bankA.requiresAuth()
  const requiresAnyBank: RequestHandler = (req, res, next) => {
    signedIn(req).then((yes) => (yes ? next() : loginAtBankA(req, res, next)), next)
  }

  app.get('/account', requiresAnyBank, async (req, res) => {
    res.set('Cache-Control', 'no-store')
    const logins = await linked(req)
    res.send(
      accountPage({
        banks: BANKS.flatMap(({ id, name }) => {
          const login = logins[id]
          if (login === undefined) return []
          const traceId = traceOfLogin.get(login.id)
          return [{ id, name, login, responseMode: modeOf(traceId) }]
        }),
        now: Date.now(),
        requestedScope: common.scope,
        unlinked: BANKS.find(({ id }) => id === req.query.unlinked && logins[id] === undefined)
          ?.name,
      }),
    )
  })

  app.get('/account/trace', requiresAnyBank, (req, res) => {
    res.set('Cache-Control', 'no-store')
    res.send(tracePage({ events: traces.get(req.session.traceId ?? '') ?? [] }))
  })

  app.use(async (req, res) => {
    res.status(404).send(
      errorPage({
        heading: 'Page not found',
        code: 'NOT_FOUND',
        sentence: 'There is no such page.',
        signedIn: await signedIn(req),
      }),
    )
  })

  const onError: ErrorRequestHandler = async (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err)
      return
    }
    const loggedIn = await signedIn(req).catch(() => false)
    res.set('Cache-Control', 'no-store')
    // The callback opened again (reload, back button) once the login is done: the response was
    // used, and the user is signed in; the account is where they were going.
    if (
      loggedIn &&
      req.method === 'GET' &&
      req.path === CALLBACK_PATH &&
      err instanceof FapiError &&
      (err.code === 'ERR_TRANSACTION_NOT_FOUND' || err.code === 'ERR_CALLBACK_MALFORMED')
    ) {
      res.redirect(303, '/account')
      return
    }
    if (err instanceof FapiError) {
      res.status(err.status).send(
        errorPage({
          heading: headingFor(err),
          code: err.code,
          sentence: sentenceFor(err),
          signedIn: loggedIn,
        }),
      )
      return
    }
    console.error('portal: unexpected error', err)
    res.status(500).send(
      errorPage({
        heading: 'Something went wrong',
        code: 'INTERNAL',
        sentence: 'Something went wrong on our side. Please try again.',
        signedIn: loggedIn,
      }),
    )
  }
  app.use(onError)
  return app
}
