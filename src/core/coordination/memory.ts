/**
 * The in-memory coordination store: one process, bounded in size, expiry by the injected clock.
 * The default when `coordination` is not set; right for a single instance only.
 *
 * @module
 */
import type { Coordination } from './store.js'

/** Options of {@link memoryCoordination}. */
export interface MemoryCoordinationOptions {
  /** At most this many keys are kept (the oldest set first are forgotten). Default 10 000. */
  readonly capacity?: number
  /** The clock, in milliseconds. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * A coordination store for one process (the default). Share one instance between clients of one
 * process only; for several instances use `redisCoordination()`.
 *
 * @example
 * ```ts
 * const auth = fapiClient({ ...options, coordination: memoryCoordination() })
 * ```
 */
export function memoryCoordination(options: MemoryCoordinationOptions = {}): Coordination {
  const capacity = options.capacity ?? 10_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { value: string; until: number }>()
  const live = (key: string) => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    if (entry.until <= now()) {
      entries.delete(key)
      return undefined
    }
    return entry
  }
  const put = (key: string, value: string, ttlMs: number) => {
    entries.delete(key)
    entries.set(key, { value, until: now() + ttlMs })
    for (const [oldest, entry] of entries) {
      if (entries.size <= capacity && entry.until > now()) break
      entries.delete(oldest)
    }
  }
  return Object.freeze({
    claim(key: string, ttlMs: number, value = '1') {
      if (live(key) !== undefined) return Promise.resolve(false)
      put(key, value, ttlMs)
      return Promise.resolve(true)
    },
    release(key: string, value: string) {
      if (live(key)?.value === value) entries.delete(key)
      return Promise.resolve()
    },
    get: (key: string) => Promise.resolve(live(key)?.value),
    set(key: string, value: string, ttlMs: number) {
      put(key, value, ttlMs)
      return Promise.resolve()
    },
  })
}
