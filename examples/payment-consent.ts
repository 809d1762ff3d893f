/**
 * A payment consent, minimal: the app's own token (client credentials, RFC 6749 §4.4, bound to
 * the client's DPoP key) creates the consent at the bank's consent API with `fetchAsClient()`;
 * then `startLogin()` asks the user to authorize it, in `authorization_details` (RFC 9396). The
 * login completes only if the bank granted exactly what was asked (`grantedAuthorizationDetails:
 * 'equal'`, the default); the grant keeps what was granted.
 *
 * A real app creates consents for its signed-in users only, from its own pages (a Fetch Metadata
 * or Origin check on the POST; see the portal's `/connect/bank-a/payment`).
 *
 * `npm run example examples/payment-consent.ts`, then open http://localhost:3000.
 */
import express from 'express'
import session from 'express-session'
import { errorHandler, fapiClient } from 'express-fapi'
import { runExample } from './shared/run-example.js'

const payment = { amount: '10.00', currency: 'EUR', creditorName: 'Example Shop' }

await runExample('payment-consent', ({ origin, issuers, clientId, signingKey, sessionSecret }) => {
  const bank = issuers['bank-a'] // the example bank with the consent API
  const auth = fapiClient({
    issuer: bank,
    clientId,
    redirectUri: `${origin}/auth/callback`,
    keys: { signing: [signingKey] },
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
    res.send(`<form method="post" action="/pay"><button>Pay 10.00 EUR</button></form>`)
  })
  app.post('/pay', async (req, res, next) => {
    try {
      const created = await auth.fetchAsClient(
        `${bank}/consents`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payment),
        },
        { scope: 'payments' },
      )
      if (created.status !== 201) throw new Error(`the consent API answered ${created.status}`)
      const { consentId } = (await created.json()) as { consentId: string }
      const { amount, currency, creditorName } = payment
      await auth.startLogin(req, res, {
        authorizationParams: {
          authorization_details: [
            {
              type: 'payment_initiation',
              consentId,
              instructedAmount: { amount, currency },
              creditorName,
            },
          ],
        },
        returnTo: '/paid',
      })
    } catch (error) {
      next(error)
    }
  })
  app.get('/paid', auth.requiresAuth(), async (req, res) => {
    const login = await auth.currentLogin(req)
    res.json({ authorized: login?.authorizationDetails })
  })
  app.use(errorHandler())
  return app
})
