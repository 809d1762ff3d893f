// @ts-check
/**
 * Connect 3, in CommonJS: `require('express-fapi')` (require(esm), Node >= 20.19), and every
 * route in one `auth.router()`, which answers by method and path. Connect's own `app.use(path)`
 * matches a path prefix for any method, so mounting `auth.login()` there would also start a login
 * for `POST /auth/login/anything`; the router does not, and its logout is POST only.
 *
 * `npm run example examples/connect-router.cjs`, then open http://localhost:3000.
 */
const connect = require('connect')
const session = require('express-session')
const { errorHandler, fapiClient } = require('express-fapi')

async function main() {
  const { runExample } = await import('./shared/run-example.js')
  await runExample('connect-router', ({ origin, issuers, clientId, signingKey, sessionSecret }) => {
    const auth = fapiClient({
      issuer: issuers['bank-a'],
      clientId,
      redirectUri: `${origin}/auth/callback`,
      keys: { signing: [signingKey] },
      scope: 'openid profile email',
      postLogoutRedirectUri: `${origin}/`,
      allowInsecureLoopback: true, // http on localhost for development; never in production
    })

    const app = connect()
    const sessions = session({
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false }, // secure: true on https
    })
    // express-session is Connect middleware; its types name Express's request.
    app.use(/** @type {connect.NextHandleFunction} */ (/** @type {unknown} */ (sessions)))
    app.use(auth.router()) // GET /auth/login, GET+POST /auth/callback, POST /auth/logout, JWKS
    app.use('/account', auth.requiresAuth())
    app.use('/account', async (req, res) => {
      const login = await auth.currentLogin(req)
      const { name, email } = login?.claims ?? {}
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end(`Signed in as ${String(name)} <${String(email)}>`)
    })
    app.use((req, res, next) => {
      if (req.url !== '/') return next()
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end(`<a href="/account">My account</a>
        <form method="post" action="/auth/logout"><button>Log out</button></form>`)
    })
    app.use(errorHandler())
    return app
  })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
