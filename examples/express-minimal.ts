/**
 * The quick start, runnable: an Express app with a login at one bank (`auth.router()`: login,
 * callback, logout, JWKS), a page only for a signed-in user showing who they are, and a logout.
 *
 * `npm run example examples/express-minimal.ts`, then open http://localhost:3000.
 */
import express from 'express'
import session from 'express-session'
import { errorHandler, fapiClient } from 'express-fapi'
import { runExample } from './shared/run-example.js'

await runExample('express-minimal', ({ origin, issuers, clientId, signingKey, sessionSecret }) => {
  const auth = fapiClient({
    issuer: issuers['bank-a'], // compared exactly with the bank's metadata
    clientId,
    redirectUri: `${origin}/auth/callback`,
    keys: { signing: [signingKey] }, // its public half is served at /.well-known/jwks.json
    scope: 'openid profile email',
    postLogoutRedirectUri: `${origin}/`,
    allowInsecureLoopback: true, // http on localhost for development; never in production
  })

  const app = express()
  app.use(
    session({
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      // secure: true once the app is served over https (a browser drops it on http://localhost)
      cookie: { httpOnly: true, sameSite: 'lax', secure: false },
    }),
  )
  app.use(auth.router()) // GET /auth/login, GET+POST /auth/callback, POST /auth/logout, GET JWKS

  app.get('/', (_req, res) => {
    res.send(`<a href="/account">My account</a>
      <form method="post" action="/auth/logout"><button>Log out</button></form>`)
  })
  // Not signed in: a page request is sent to the login, and comes back here afterwards.
  app.get('/account', auth.requiresAuth(), async (req, res) => {
    const login = await auth.currentLogin(req)
    const { name, email } = login?.claims ?? {}
    res.type('text').send(`Signed in as ${String(name)} <${String(email)}>`)
  })
  app.use(errorHandler()) // FapiErrors as HTML or JSON: status, code, message
  return app
})
