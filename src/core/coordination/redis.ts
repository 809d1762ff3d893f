/**
 * The Redis coordination store over a node-redis client the app created and connected (express-fapi
 * never opens connections): `SET NX PX` to claim a key, `SET PX` and `GET` for shared values, and
 * a Lua compare-and-delete so that only a lock's owner releases it (the single-instance lock
 * pattern of the Redis documentation). Commands are sent with `sendCommand`, so any client that has
 * it (node-redis 4 to 6) works; express-fapi does not import `redis` itself.
 *
 * While the client is not ready (Redis down, reconnecting) every call rejects at once with
 * `ERR_COORDINATION_UNAVAILABLE` instead of queueing; a command that takes longer than
 * `commandTimeout` rejects the same way. node-redis reconnects by itself: calls succeed again once
 * it is back.
 *
 * @module
 * @see https://redis.io/docs/latest/commands/set/ (NX, PX); https://redis.io/docs/latest/develop/use/patterns/distributed-locks/
 */
import { coordinationUnavailable, type Coordination } from './store.js'

/** What express-fapi uses of a node-redis client: `sendCommand` and `isReady`. */
export interface RedisCommandClient {
  sendCommand(args: readonly string[]): Promise<unknown>
  readonly isReady: boolean
}

/** Options of {@link redisCoordination}. */
export interface RedisCoordinationOptions {
  /** Prefix of every key express-fapi sets. Default `express-fapi:`. */
  readonly prefix?: string
  /** Milliseconds a command may take before it counts as a failure. Default 2000. */
  readonly commandTimeout?: number
}

/** Deletes KEYS[1] only when it holds ARGV[1]. */
const COMPARE_AND_DELETE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"

/**
 * A coordination store on Redis, for several instances of one app. Pass a connected node-redis
 * client (and give it an `error` listener, as node-redis requires).
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const redis = createClient({ url: process.env.REDIS_URL })
 * redis.on('error', (error) => console.warn('redis', error.message))
 * await redis.connect()
 * const auth = fapiClient({ ...options, coordination: redisCoordination(redis, { prefix: 'portal:' }) })
 * ```
 */
export function redisCoordination(
  client: RedisCommandClient,
  options: RedisCoordinationOptions = {},
): Coordination {
  if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function') {
    throw new TypeError('redisCoordination() needs a connected node-redis client')
  }
  const prefix = options.prefix ?? 'express-fapi:'
  const timeout = options.commandTimeout ?? 2000
  const send = redisSender(client, timeout, coordinationUnavailable)
  const ms = (ttlMs: number) => String(Math.max(1, Math.ceil(ttlMs)))
  return Object.freeze({
    async claim(key: string, ttlMs: number, value = '1') {
      const reply = await send(['SET', prefix + key, value, 'NX', 'PX', ms(ttlMs)])
      return reply === 'OK'
    },
    async release(key: string, value: string) {
      await send(['EVAL', COMPARE_AND_DELETE, '1', prefix + key, value])
    },
    async get(key: string) {
      const reply = await send(['GET', prefix + key])
      return typeof reply === 'string' ? reply : undefined
    },
    async set(key: string, value: string, ttlMs: number) {
      await send(['SET', prefix + key, value, 'PX', ms(ttlMs)])
    },
  })
}

/**
 * One Redis command, bounded by `timeout` milliseconds: a client that is not ready, a failure or
 * no answer in time is the store's own "unavailable" error (its cause redacted by the error
 * class). Shared by the Redis stores (coordination, grants, registrations).
 */
export function redisSender(
  client: RedisCommandClient,
  timeout: number,
  unavailable: (cause?: unknown) => Error,
): (args: readonly string[]) => Promise<unknown> {
  return async (args) => {
    if (!client.isReady) throw unavailable()
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        client.sendCommand(args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('redis command timed out')), timeout)
          timer.unref()
        }),
      ])
    } catch (cause) {
      throw unavailable(cause)
    } finally {
      clearTimeout(timer)
    }
  }
}
