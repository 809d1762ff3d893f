/**
 * One app instance in its own process, sharing sessions through connect-redis: what a deployment
 * behind a load balancer runs. Configured by environment (`COORDINATION_REDIS_URL` adds the Redis
 * coordination store, `HOSTILE=1` the options of the hostile test server); tells its parent its
 * origin.
 */
import { RedisStore } from 'connect-redis'
import { createClient } from 'redis'
import { redisCoordination, redisGrantStore, type FapiClientOptions } from '../../src/index.js'
import { startApp } from './app.js'

function env(name: string): string {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const redis = createClient({ url: env('REDIS_URL') })
redis.on('error', () => undefined)
await redis.connect()
const coordinationUrl = process.env.COORDINATION_REDIS_URL
const coordinationClient =
  coordinationUrl === undefined ? undefined : createClient({ url: coordinationUrl })
// node-redis requires an error listener; it reconnects by itself.
coordinationClient?.on('error', () => undefined)
await coordinationClient?.connect()
const options: FapiClientOptions = {
  issuer: env('ISSUER'),
  clientId: 'portal',
  redirectUri: env('REDIRECT_URI'),
  keys: { signing: [JSON.parse(env('CLIENT_JWK')) as { kid: string }] },
  allowInsecureLoopback: true,
  // Grants live beside the sessions: every instance sees one grant's transitions at once.
  grants: redisGrantStore(redis, { prefix: 'express-fapi-test:' }),
  ...(process.env.HOSTILE === '1' ? { senderConstraint: 'none' as const } : {}),
  ...(coordinationClient === undefined
    ? {}
    : {
        coordination: redisCoordination(coordinationClient, {
          prefix: 'express-fapi-test:',
          commandTimeout: 1000,
        }),
      }),
}
const app = await startApp({
  store: new RedisStore({ client: redis, prefix: 'express-fapi-test-session:' }),
  client: () => options,
  routes: (router, client) => {
    router.post('/refresh', (req, res, next) => {
      client.refresh(req).then((result) => res.json({ expiresAt: result.tokens.expiresAt }), next)
    })
    router.post('/auth/logout', client.logout())
    router.post('/auth/backchannel-logout', client.backchannelLogout())
    // The session's grant id, and a background job that refreshes a grant by id (no session).
    router.get('/grant-id', (req, res, next) => {
      client.currentLogin(req).then((grant) => res.json({ id: grant?.id ?? null }), next)
    })
    router.post('/background/refresh', (req, res, next) => {
      client
        .grant(String(req.query.id))
        .refresh()
        .then((grant) => res.json({ generation: grant.generation }), next)
    })
  },
})
process.send?.({ origin: app.origin })
process.on('message', (message) => {
  if (message === 'heap') {
    // The test app records every login; a load run must not count that. With --expose-gc (the
    // load script), after a full collection.
    app.logins.length = 0
    ;(globalThis as { gc?: () => void }).gc?.()
    process.send?.({ heapMiB: Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10 })
  }
  if (message === 'stop') {
    void app
      .close()
      .then(() => {
        redis.destroy()
        coordinationClient?.destroy()
      })
      .catch(() => undefined)
      .then(() => process.exit(0))
  }
})
