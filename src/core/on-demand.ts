/**
 * A bounded cache of things created on first use by name (the clients of banks resolved on
 * demand): one creation in flight per name (concurrent first uses share it), the most recently
 * used `max` kept (least recently used evicted first), and a failed creation remembered only for
 * `retryAfterMs` (then the next use tries again; `0`: never remembered).
 *
 * @module
 */

/** How an {@link OnDemand} cache creates, bounds and forgets. */
export interface OnDemandOptions<T> {
  /** Creates the value of `name`; a rejection is remembered for `retryAfterMs`. */
  readonly create: (name: string) => Promise<T>
  /** How many values are kept (at least 1). */
  readonly max: number
  /** How long a failed creation is answered from memory, in milliseconds. */
  readonly retryAfterMs: number
  readonly now: () => number
  /** Called for a value leaving the cache (evicted). */
  readonly evicted?: (name: string, value: T) => void
}

/** A bounded cache of values created on first use. */
export interface OnDemand<T> {
  /** The value of `name`, created on first use (one creation in flight per name). */
  get(name: string): Promise<T>
  /** The value of `name` if it is in the cache now (its use is not counted). */
  peek(name: string): T | undefined
  /** The values in the cache now, least recently used first. */
  entries(): readonly (readonly [string, T])[]
}

/** Creates an {@link OnDemand} cache. */
export function onDemand<T>(options: OnDemandOptions<T>): OnDemand<T> {
  const ready = new Map<string, T>()
  const inFlight = new Map<string, Promise<T>>()
  const failed = new Map<string, { readonly error: unknown; readonly until: number }>()

  function keep(name: string, value: T): void {
    ready.delete(name)
    ready.set(name, value)
    while (ready.size > Math.max(1, options.max)) {
      const [oldest, gone] = ready.entries().next().value as [string, T]
      ready.delete(oldest)
      options.evicted?.(oldest, gone)
    }
  }

  function remember(name: string, error: unknown): void {
    if (options.retryAfterMs <= 0) return
    failed.delete(name)
    failed.set(name, { error, until: options.now() + options.retryAfterMs })
    // Bounded like the values: the oldest failure is forgotten first.
    while (failed.size > Math.max(1, options.max))
      failed.delete(failed.keys().next().value as string)
  }

  return {
    get(name) {
      const value = ready.get(name)
      if (value !== undefined) {
        keep(name, value)
        return Promise.resolve(value)
      }
      const running = inFlight.get(name)
      if (running !== undefined) return running
      const failure = failed.get(name)
      if (failure !== undefined) {
        if (options.now() < failure.until) return Promise.reject(failure.error)
        failed.delete(name)
      }
      const created = options.create(name).then(
        (made) => {
          inFlight.delete(name)
          keep(name, made)
          return made
        },
        (error: unknown) => {
          inFlight.delete(name)
          remember(name, error)
          throw error
        },
      )
      inFlight.set(name, created)
      return created
    },
    peek: (name) => ready.get(name),
    entries: () => [...ready],
  }
}
