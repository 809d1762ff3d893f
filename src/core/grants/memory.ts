/**
 * The in-memory grant store, the default of `grants`: one process only (several instances need
 * `redisGrantStore()`). Records are forgotten after their `expiresAt`; at most `maxGrants` are
 * kept (a full store refuses new grants rather than dropping someone's). Its records are frozen
 * copies, never changed in place, so each is opened (parsed, unsealed) once and its grant handed
 * to every later read.
 *
 * @module
 */
import { CoordinationError } from '../../errors.js'
import type { GrantQuery, GrantRecord, GrantStore } from '../../config/grants.js'
import { unchangingRecord } from './record.js'
import { indexKeysOf, queryKey } from './store.js'

/** Options of {@link memoryGrantStore}. */
export interface MemoryGrantStoreOptions {
  /** The most records kept (active and ended). Default 100000. */
  readonly maxGrants?: number
  /** The clock (milliseconds since the epoch). Default `Date.now`. */
  readonly now?: () => number
}

/**
 * A grant store in this process's memory.
 *
 * @example
 * ```ts
 * const auth = fapiClient({ ...options, grants: memoryGrantStore() })
 * ```
 */
export function memoryGrantStore(options: MemoryGrantStoreOptions = {}): GrantStore {
  const max = options.maxGrants ?? 100_000
  const now = options.now ?? Date.now
  const records = new Map<string, GrantRecord>()
  const index = new Map<string, Set<string>>()
  const live = (id: string): GrantRecord | undefined => {
    const record = records.get(id)
    if (record === undefined) return undefined
    if (record.expiresAt > now()) return record
    forget(record)
    return undefined
  }
  const forget = (record: GrantRecord) => {
    records.delete(record.id)
    for (const key of indexKeysOf(record)) {
      const ids = index.get(key)
      ids?.delete(record.id)
      if (ids?.size === 0) index.delete(key)
    }
  }
  const sweep = () => {
    for (const record of [...records.values()]) if (record.expiresAt <= now()) forget(record)
  }
  return Object.freeze({
    async get(id: string) {
      return live(id)
    },
    async create(record: GrantRecord) {
      if (live(record.id) !== undefined) return false
      if (records.size >= max) sweep()
      if (records.size >= max) {
        throw new CoordinationError(
          'ERR_GRANT_STORE_UNAVAILABLE',
          'the in-memory grant store is full (maxGrants); use a shared store or raise maxGrants',
        )
      }
      records.set(record.id, unchangingRecord(record))
      for (const key of indexKeysOf(record)) {
        let ids = index.get(key)
        if (ids === undefined) index.set(key, (ids = new Set()))
        ids.add(record.id)
      }
      return true
    },
    async update(record: GrantRecord, generation: number) {
      const current = live(record.id)
      if (current?.status !== 'active' || current.generation !== generation) return false
      records.set(record.id, unchangingRecord(record))
      return true
    },
    async end(id: string, endedAt: number, keepUntil: number) {
      const current = live(id)
      if (current?.status !== 'active') return undefined
      records.set(
        id,
        unchangingRecord({
          ...current,
          status: 'ended',
          body: '',
          updatedAt: endedAt,
          expiresAt: keepUntil,
        }),
      )
      return current
    },
    async find(query: GrantQuery) {
      const ids = index.get(queryKey(query))
      return ids === undefined ? [] : [...ids].filter((id) => live(id) !== undefined)
    },
  })
}
