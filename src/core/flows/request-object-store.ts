/**
 * The in-memory store of request objects by reference (RFC 9101 §5.2), the default of
 * `requestObjectStore`: one process only; several instances need a shared store. Each pending
 * login puts one object, taken once by the server's fetch or dropped at its short lifetime; a
 * full store refuses new logins (`ERR_REQUEST_OBJECT_STORE_FULL`, 503) rather than dropping a
 * pending user's object, so anonymous logins cannot push someone else's out.
 *
 * @module
 */
import type { RequestObjectStore } from '../../config/options.js'
import { FapiError } from '../../errors.js'

/** Objects kept at most in memory. */
const MAX_ENTRIES = 1000

/** The in-memory store: bounded without eviction, single use, entries gone after their lifetime. */
export class MemoryRequestObjectStore implements RequestObjectStore {
  readonly #entries = new Map<string, { jwt: string; expiresAt: number }>()
  readonly #max: number
  readonly #now: () => number

  constructor(now: () => number = Date.now, max: number = MAX_ENTRIES) {
    this.#now = now
    this.#max = max
  }

  put(id: string, requestObject: string, expiresAt: number): void {
    if (this.#entries.size >= this.#max) {
      const now = this.#now()
      for (const [key, entry] of this.#entries)
        if (entry.expiresAt <= now) this.#entries.delete(key)
    }
    if (this.#entries.size >= this.#max) {
      throw new FapiError(
        'ERR_REQUEST_OBJECT_STORE_FULL',
        'too many logins are waiting for the server to fetch their request object; try again shortly',
      )
    }
    this.#entries.set(id, { jwt: requestObject, expiresAt })
  }

  take(id: string, now: number): string | undefined {
    const entry = this.#entries.get(id)
    this.#entries.delete(id)
    return entry !== undefined && now < entry.expiresAt ? entry.jwt : undefined
  }
}
