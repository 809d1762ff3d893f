/**
 * New tokens for the signed-in user with the refresh grant: `auth.refresh(req)` authenticates the
 * client as the login did (`private_key_jwt`), proves the login's DPoP key, checks the new ID
 * token against the first one (`iss`, `sub`, `aud`) and stores the result in the grant. Two
 * refreshes of one grant at once make one token request (across instances too, with a shared
 * grant store and coordination store).
 *
 * `fetchResource()` refreshes an expired token by itself; call `refresh()` to get a new one
 * sooner (the user's rights changed at the bank, say).
 *
 * `npm run example examples/refresh.ts`, then open http://localhost:3000.
 */
import { createHash } from 'node:crypto'
import express from 'express'
import session from 'express-session'
import { errorHandler, fapiClient, type ActiveGrant } from 'express-fapi'
import { runExample } from './shared/run-example.js'

/** What the page shows of the tokens: never the tokens, only a short digest to tell them apart. */
function summary({ generation, tokens }: ActiveGrant) {
  const digest = createHash('sha256').update(tokens.accessToken).digest('base64url')
  return { generation, accessTokenDigest: digest.slice(0, 8), expiresAt: tokens.expiresAt }
}

await runExample('refresh', ({ origin, issuers, clientId, signingKey, sessionSecret }) => {
  const auth = fapiClient({
    issuer: issuers['bank-b'],
    clientId,
    redirectUri: `${origin}/auth/callback`,
    keys: { signing: [signingKey] },
    scope: 'openid profile', // some banks issue a refresh token only for 'offline_access'
    allowInsecureLoopback: true, // http on localhost for development; never in production
  })

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
  app.get('/', (_req, res) => {
    res.send(`<a href="/tokens">My tokens</a>
      <form method="post" action="/refresh"><button>Refresh them</button></form>`)
  })
  app.get('/tokens', auth.requiresAuth(), async (req, res) => {
    const login = await auth.currentLogin(req)
    res.json(login && summary(login))
  })
  app.post('/refresh', auth.requiresAuth(), async (req, res, next) => {
    try {
      await auth.refresh(req) // ERR_REFRESH_TOKEN_MISSING, ERR_TOKEN_REJECTED, … to next()
      const login = await auth.currentLogin(req)
      res.json(login && summary(login))
    } catch (error) {
      next(error)
    }
  })
  app.use(errorHandler())
  return app
})
