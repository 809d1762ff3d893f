/**
 * An `httpTimer` for tests whose timeouts fire on the test's signal, never on the clock: a test
 * waits until the server holds the request (`HostileServer.held()`), then expires the timer, so a
 * loaded machine can neither time out a request early nor make the test wait for a real timeout.
 */
import type { FapiClientOptions } from '../../src/index.js'

type HttpTimer = NonNullable<FapiClientOptions['httpTimer']>

export interface ManualTimer {
  /** The `httpTimer` option. */
  readonly timer: HttpTimer
  /** Expires every pending timeout now; returns how many there were. */
  expire(): number
  /** How many timeouts are pending (requests in flight). */
  pending(): number
}

export function manualTimer(): ManualTimer {
  const pending = new Set<() => void>()
  return {
    timer(_ms, expire) {
      const entry = () => expire()
      pending.add(entry)
      return () => {
        pending.delete(entry)
      }
    },
    expire() {
      const due = [...pending]
      pending.clear()
      for (const entry of due) entry()
      return due.length
    },
    pending: () => pending.size,
  }
}
