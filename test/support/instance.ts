/**
 * One app instance in its own process, sharing sessions through connect-redis: what a deployment
 * behind a load balancer runs. Configured by environment; tells its parent its origin.
 */
import { RedisStore } from 'connect-redis'
import { createClient } from 'redis'
import { startApp } from './app.js'

function env(name: string): string {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const redis = createClient({ url: env('REDIS_URL') })
await redis.connect()
const app = await startApp({
  store: new RedisStore({ client: redis, prefix: 'express-fapi-test:' }),
  client: () => ({
    issuer: env('ISSUER'),
    clientId: 'portal',
    redirectUri: env('REDIRECT_URI'),
    keys: { signing: [JSON.parse(env('CLIENT_JWK')) as { kid: string }] },
    allowInsecureLoopback: true,
  }),
})
process.send?.({ origin: app.origin })
process.on('message', (message) => {
  if (message === 'stop') {
    void app
      .close()
      .then(() => redis.quit())
      .then(() => process.exit(0))
  }
})
