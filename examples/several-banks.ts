/**
 * Several banks in one app with `fapiClients()`: one client per bank under one router and one
 * callback (`/auth/login?server=bank-b`; the response goes to the bank its `state` names, checked
 * against that bank's `iss` and keys only: mix-up defence). Bank A says who the user is (the
 * session's owner, `identity`); a login at bank B links that bank to the same user, and
 * `unlink()` ends one bank's grant (its tokens revoked) and keeps the others.
 *
 * `npm run example examples/several-banks.ts`, then open http://localhost:3000.
 */
import express from 'express'
import session from 'express-session'
import { errorHandler, fapiClients, type FapiClientOptions } from 'express-fapi'
import { runExample } from './shared/run-example.js'

await runExample('several-banks', ({ origin, issuers, clientId, signingKey, sessionSecret }) => {
  const common = {
    clientId, // each bank may know the app under another id, and other keys
    redirectUri: `${origin}/auth/callback`,
    keys: { signing: [signingKey] },
    scope: 'openid profile',
    allowInsecureLoopback: true, // http on localhost for development; never in production
  } satisfies Omit<FapiClientOptions, 'issuer'>
  const banks = fapiClients(
    {
      'bank-a': { ...common, issuer: issuers['bank-a'] },
      'bank-b': { ...common, issuer: issuers['bank-b'] },
    },
    { identity: 'bank-a' },
  )

  const app = express()
  app.use(
    session({
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false }, // secure: true on https
    }),
  )
  app.use(banks.router()) // GET /auth/login?server=…, GET+POST /auth/callback
  app.get('/.well-known/jwks.json', banks.client('bank-a').jwks()) // one key for both here
  app.get('/', (_req, res) => {
    res.send(`<a href="/auth/login?server=bank-a&returnTo=/banks">Sign in with Bank A</a>
      <a href="/auth/login?server=bank-b&returnTo=/banks">Link Bank B</a>
      <form method="post" action="/banks/bank-b/unlink"><button>Unlink Bank B</button></form>`)
  })
  // The linked banks and who the user is at each.
  app.get('/banks', async (req, res) => {
    const logins = await banks.currentLogins(req)
    res.json(
      Object.fromEntries(Object.entries(logins).map(([bank, { claims }]) => [bank, claims.name])),
    )
  })
  app.post('/banks/:bank/unlink', async (req, res, next) => {
    banks.unlink(req, req.params.bank).then(() => res.redirect(303, '/banks'), next)
  })
  app.use(errorHandler())
  return app
})
