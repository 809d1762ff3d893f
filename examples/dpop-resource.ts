/**
 * A call to a resource server as the signed-in user, with a DPoP-bound access token (RFC 9449):
 * `auth.fetchResource(req, url)` sends `Authorization: DPoP <token>` and a fresh proof signed by
 * the login's own DPoP key (with the token's hash, and the server's nonce when it asks), and
 * refreshes an expired token first. The token stays on the server; the browser sees only the
 * answer.
 *
 * The example bank has no accounts API; its userinfo endpoint (`/me`) is a DPoP-protected
 * resource like any other, so it stands in for one here.
 *
 * `npm run example examples/dpop-resource.ts`, then open http://localhost:3000/profile.
 */
import express from 'express'
import session from 'express-session'
import { errorHandler, fapiClient } from 'express-fapi'
import { runExample } from './shared/run-example.js'

await runExample('dpop-resource', ({ origin, issuers, clientId, signingKey, sessionSecret }) => {
  const auth = fapiClient({
    issuer: issuers['bank-a'],
    clientId,
    redirectUri: `${origin}/auth/callback`,
    keys: { signing: [signingKey] },
    scope: 'openid profile email',
    // senderConstraint: 'dpop' is the default of the FAPI 2.0 profiles
    allowInsecureLoopback: true, // http on localhost for development; never in production
  })
  const resource = new URL('/me', issuers['bank-a']).href

  const app = express()
  app.use(
    session({
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false }, // secure: true on https
    }),
  )
  app.use(auth.router())
  app.get('/profile', auth.requiresAuth(), async (req, res, next) => {
    try {
      const answer = await auth.fetchResource(req, resource)
      const login = await auth.currentLogin(req)
      res.status(answer.status).json({
        tokenType: login?.tokens.tokenType, // 'DPoP'
        resource: await answer.json(),
      })
    } catch (error) {
      next(error) // a FapiError: ERR_LOGIN_REQUIRED, ERR_RESOURCE_*, or a failed refresh
    }
  })
  app.use(errorHandler())
  return app
})
