/**
 * The Redis grant store over a node-redis client the app created and connected (express-fapi
 * never opens connections), like `redisCoordination()`: each record is one JSON string under
 * `grant:<id>` that expires with the grant (`PX`), each lookup a set of ids; every transition is
 * one Lua script, so it is atomic across instances: create (`SET NX` and the index sets),
 * compare-and-set on the generation, end (status `ended`, body dropped, the active record
 * returned to exactly one caller).
 *
 * While the client is not ready every call rejects at once with `ERR_GRANT_STORE_UNAVAILABLE`;
 * a command that takes longer than `commandTimeout` rejects the same way.
 *
 * @module
 * @see https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 */
import type { GrantQuery, GrantRecord, GrantStore } from '../../config/grants.js'
import { redisSender, type RedisCommandClient } from '../coordination/redis.js'
import { grantStoreUnavailable, indexKeysOf, queryKey } from './store.js'
import { isGrantRecord } from './record.js'

/** Options of {@link redisGrantStore}. */
export interface RedisGrantStoreOptions {
  /** Prefix of every key. Default `express-fapi:`. */
  readonly prefix?: string
  /** Milliseconds a command may take before it counts as a failure. Default 2000. */
  readonly commandTimeout?: number
  /** The clock (milliseconds since the epoch). Default `Date.now`. */
  readonly now?: () => number
}

/** KEYS[1] the record, KEYS[2..] its index sets; ARGV: record, ttl ms, id. */
const CREATE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) == false then return 0 end
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[3])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
return 1`

/**
 * KEYS[1] the record, KEYS[2..] its index sets; ARGV: new record, expected generation, ttl ms.
 * The index sets live at least as long as the record (a refresh may extend the grant's life).
 */
const UPDATE = `
local current = redis.call('GET', KEYS[1])
if current == false then return 0 end
local record = cjson.decode(current)
if record.status ~= 'active' or record.generation ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
for i = 2, #KEYS do
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 1`

/** KEYS[1] the record; ARGV: ended record's fields (endedAt, keepUntil, ttl ms). */
const END = `
local current = redis.call('GET', KEYS[1])
if current == false then return false end
local record = cjson.decode(current)
if record.status ~= 'active' then return false end
record.status = 'ended'
record.body = ''
record.updatedAt = tonumber(ARGV[1])
record.expiresAt = tonumber(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode(record), 'PX', ARGV[3])
return current`

/**
 * A grant store on Redis, for several instances of one app. Pass a connected node-redis client
 * (with an `error` listener, as node-redis requires); it may be the coordination store's.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const redis = createClient({ url: process.env.REDIS_URL })
 * redis.on('error', (error) => console.warn('redis', error.message))
 * await redis.connect()
 * const auth = fapiClient({ ...options, coordination: redisCoordination(redis), grants: redisGrantStore(redis) })
 * ```
 */
export function redisGrantStore(
  client: RedisCommandClient,
  options: RedisGrantStoreOptions = {},
): GrantStore {
  if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function') {
    throw new TypeError('redisGrantStore() needs a connected node-redis client')
  }
  const prefix = `${options.prefix ?? 'express-fapi:'}grant`
  const timeout = options.commandTimeout ?? 2000
  const now = options.now ?? Date.now
  const send = redisSender(client, timeout, grantStoreUnavailable)
  const recordKey = (id: string) => `${prefix}:${id}`
  const ttl = (expiresAt: number) => String(Math.max(1, Math.ceil(expiresAt - now())))
  const parse = (reply: unknown): GrantRecord | undefined => {
    if (typeof reply !== 'string') return undefined
    try {
      const record = JSON.parse(reply) as unknown
      return isGrantRecord(record) ? record : undefined
    } catch {
      return undefined
    }
  }
  const get = async (id: string) => parse(await send(['GET', recordKey(id)]))
  return Object.freeze({
    get,
    async create(record: GrantRecord) {
      const indexes = indexKeysOf(record).map((key) => `${prefix}s:${key}`)
      const keys = [recordKey(record.id), ...indexes]
      const reply = await send([
        'EVAL',
        CREATE,
        String(keys.length),
        ...keys,
        JSON.stringify(record),
        ttl(record.expiresAt),
        record.id,
      ])
      return reply === 1
    },
    async update(record: GrantRecord, generation: number) {
      const keys = [recordKey(record.id), ...indexKeysOf(record).map((key) => `${prefix}s:${key}`)]
      const reply = await send([
        'EVAL',
        UPDATE,
        String(keys.length),
        ...keys,
        JSON.stringify(record),
        String(generation),
        ttl(record.expiresAt),
      ])
      return reply === 1
    },
    async end(id: string, endedAt: number, keepUntil: number) {
      const reply = await send([
        'EVAL',
        END,
        '1',
        recordKey(id),
        String(endedAt),
        String(keepUntil),
        ttl(keepUntil),
      ])
      return parse(reply)
    },
    async find(query: GrantQuery) {
      const ids = await send(['SMEMBERS', `${prefix}s:${queryKey(query)}`])
      if (!Array.isArray(ids)) return []
      const found: string[] = []
      // Members of forgotten records linger until the set expires: keep the live ones.
      for (const id of ids) {
        if (typeof id === 'string' && (await get(id)) !== undefined) found.push(id)
      }
      return found
    },
  })
}
