/**
 * The in-memory store of request objects by reference (RFC 9101 §5.2), the default of
 * `requestObjectStore`: one process only; several instances need a shared store.
 *
 * @module
 */
import type { RequestObjectStore } from '../../config/options.js'

/** Objects kept at most in memory; the oldest goes first. */
const MAX_ENTRIES = 1000

/** The in-memory store: bounded, single use, entries gone after their lifetime. */
export class MemoryRequestObjectStore implements RequestObjectStore {
  readonly #entries = new Map<string, { jwt: string; expiresAt: number }>()

  put(id: string, requestObject: string, expiresAt: number): void {
    this.#entries.set(id, { jwt: requestObject, expiresAt })
    while (this.#entries.size > MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value
      if (oldest === undefined) break
      this.#entries.delete(oldest)
    }
  }

  take(id: string, now: number): string | undefined {
    const entry = this.#entries.get(id)
    this.#entries.delete(id)
    return entry !== undefined && now < entry.expiresAt ? entry.jwt : undefined
  }
}
