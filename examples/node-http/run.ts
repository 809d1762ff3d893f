/**
 * Runs the `node:http` adapter of `app.ts` against the example banks: `npm run example
 * examples/node-http/run.ts`, then open http://localhost:3000/login?returnTo=/me. The bank
 * fetches the app's public keys from `/.well-known/jwks.json` (the core's `publicJwks()`).
 */
import { runExample } from '../shared/run-example.js'
import { createNodeHttpApp } from './app.js'

await runExample(
  'node-http',
  ({ origin, issuers, clientId, signingKey }) => {
    const { core, listener } = createNodeHttpApp({
      issuer: issuers['bank-a'],
      clientId,
      redirectUri: `${origin}/callback`,
      keys: { signing: [signingKey] },
      allowInsecureLoopback: true, // http on localhost for development; never in production
    })
    return (req, res) => {
      if (req.url === '/.well-known/jwks.json' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' })
        res.end(JSON.stringify(core.publicJwks()))
      } else {
        listener(req, res)
      }
    }
  },
  { callbackPath: '/callback' },
)
