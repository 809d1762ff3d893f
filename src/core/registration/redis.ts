/**
 * Registrations in Redis over a node-redis client the app created and connected (express-fapi
 * never opens connections), one JSON value per key, without expiry: a registration lives until
 * it is deleted. Commands are sent with `sendCommand`, as by the Redis coordination store.
 *
 * @module
 */
import { ServerResponseError } from '../../errors.js'
import { redisSender, type RedisCommandClient } from '../coordination/redis.js'
import { asRegistration, type Registration, type RegistrationStore } from './store.js'

/** Options of {@link redisRegistrations}. */
export interface RedisRegistrationsOptions {
  /** Prefix of every key. Default `express-fapi:registration:`. */
  readonly prefix?: string
  /**
   * Milliseconds a command may take before the store counts as unavailable
   * (`ERR_REGISTRATION_STORE_UNAVAILABLE`). Default 2000, as the other Redis stores.
   */
  readonly commandTimeout?: number
}

function unavailable(cause?: unknown): ServerResponseError {
  return new ServerResponseError(
    'ERR_REGISTRATION_STORE_UNAVAILABLE',
    'registration: the registration store is unavailable; try again shortly',
    cause,
  )
}

/**
 * A registration store on Redis, for several instances of one app.
 *
 * @example
 * ```ts
 * const redis = createClient({ url: process.env.REDIS_URL })
 * redis.on('error', (error) => console.warn('redis', error.message))
 * await redis.connect()
 * const registration = fapiRegistration({ ...options, store: redisRegistrations(redis) })
 * ```
 */
export function redisRegistrations(
  client: RedisCommandClient,
  options: RedisRegistrationsOptions = {},
): RegistrationStore {
  if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function') {
    throw new TypeError('redisRegistrations() needs a connected node-redis client')
  }
  const prefix = options.prefix ?? 'express-fapi:registration:'
  const send = redisSender(client, options.commandTimeout ?? 2000, unavailable)
  return Object.freeze({
    async get(key: string): Promise<Registration | undefined> {
      const reply = await send(['GET', prefix + key])
      if (typeof reply !== 'string') return undefined
      try {
        return asRegistration(JSON.parse(reply))
      } catch {
        return undefined
      }
    },
    async set(key: string, registration: Registration): Promise<void> {
      await send(['SET', prefix + key, JSON.stringify(registration)])
    },
    async delete(key: string): Promise<void> {
      await send(['DEL', prefix + key])
    },
  })
}
