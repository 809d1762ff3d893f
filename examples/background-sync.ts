/**
 * A background job with no browser and no request: the app keeps each login's `grantId` (from the
 * callback's result) with its own user record; a job later refreshes that grant's tokens and
 * reads the user's data at the bank with `auth.grant(grantId)`. A grant that ended (the user
 * logged out, or the bank ended it) answers `ERR_LOGIN_REQUIRED`, and the job forgets it.
 *
 * App and job share one grant store. Here both run in this process on one in-memory store; in a
 * deployment the app's instances and the job's worker each pass `grants: redisGrantStore(...)`
 * (and `coordination: redisCoordination(...)`) on one Redis, with the same client options and
 * keys, and the grant ids live in the app's database. The example bank has no accounts API; its
 * userinfo endpoint (`/me`, DPoP-protected) stands in for one.
 *
 * `npm run example examples/background-sync.ts`, then sign in at http://localhost:3000: the job
 * runs every SYNC_SECONDS (default 60; once a day, say, in a real app) and prints what it read.
 */
import express, { type Request, type Response } from 'express'
import session from 'express-session'
import {
  errorHandler,
  fapiClient,
  isFapiError,
  memoryGrantStore,
  type LoginResult,
} from 'express-fapi'
import { runExample } from './shared/run-example.js'

await runExample('background-sync', ({ origin, issuers, clientId, signingKey, sessionSecret }) => {
  const options = {
    issuer: issuers['bank-b'],
    clientId,
    redirectUri: `${origin}/auth/callback`,
    keys: { signing: [signingKey] },
    grants: memoryGrantStore(), // redisGrantStore({ client }) for several processes
    allowInsecureLoopback: true, // http on localhost for development; never in production
  }
  const auth = fapiClient(options) // the app's
  const job = fapiClient(options) // the worker's: the same options, the same grant store
  const grantOfUser = new Map<string, string>() // the app's users (its database): sub → grant id

  const app = express()
  app.use(
    session({
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false }, // secure: true on https
    }),
  )
  // The callback's result names the grant: keep its id with the user.
  const onLogin = (_req: Request, res: Response, { claims, grantId, returnTo }: LoginResult) => {
    grantOfUser.set(claims.sub, grantId)
    res.redirect(303, returnTo)
  }
  app.use(auth.router(undefined, { callback: { onLogin } }))
  app.get('/', (_req, res) => {
    res.send(`<a href="/auth/login">Sign in</a>: your data is then synced in the background.
      <form method="post" action="/auth/logout"><button>Log out</button></form>`)
  })
  app.use(errorHandler())

  async function sync(user: string, grantId: string): Promise<void> {
    const grant = job.grant(grantId)
    try {
      const { generation } = await grant.refresh() // new tokens, with no user present
      const answer = await grant.fetchResource(new URL('/me', issuers['bank-b']).href)
      const data: unknown = await answer.json()
      console.log(JSON.stringify({ synced: user, generation, status: answer.status, data }))
    } catch (error) {
      if (!isFapiError(error) || error.code !== 'ERR_LOGIN_REQUIRED') throw error
      grantOfUser.delete(user) // ended: logged out, or ended by the bank
      console.log(JSON.stringify({ ended: user }))
    }
  }
  // One run at a time: the next starts SYNC_SECONDS after this one ended.
  const every = Number(process.env.SYNC_SECONDS ?? 60) * 1000
  const runJob = async (): Promise<void> => {
    for (const [user, grantId] of grantOfUser) await sync(user, grantId).catch(console.error)
    setTimeout(runJob, every).unref()
  }
  setTimeout(runJob, every).unref()
  return app
})
