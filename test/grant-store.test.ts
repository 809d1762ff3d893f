/**
 * The grant store contract (`express-fapi/testing`) against both built-in stores: the in-memory
 * store, and the Redis store on a real redis-server started here.
 */
import { after } from 'node:test'
import { createClient } from 'redis'
import { memoryGrantStore, redisGrantStore, type RedisCommandClient } from '../src/index.js'
import { grantStoreContract } from '../src/testing.js'
import { redisMissing, startRedis, type StartedRedis } from './support/redis.js'

grantStoreContract('memoryGrantStore()', () => memoryGrantStore())

const missing = redisMissing()
if (missing !== false) {
  console.log(`# skipping the Redis grant store contract: ${missing}`)
} else {
  type Client = RedisCommandClient & { quit(): Promise<unknown> }
  let started: Promise<{ redis: StartedRedis; client: Client }> | undefined
  const connect = () => {
    started ??= (async () => {
      const redis = await startRedis()
      const client = createClient({ url: redis.url })
      client.on('error', () => undefined)
      await client.connect()
      return { redis, client: client as unknown as Client }
    })()
    return started
  }
  after(async () => {
    if (started === undefined) return
    const { redis, client } = await started
    await client.quit()
    await redis.close()
  })
  let run = 0
  grantStoreContract('redisGrantStore()', async () => {
    const { client } = await connect()
    run += 1
    return redisGrantStore(client, { prefix: `contract-${run}:` })
  })
}
