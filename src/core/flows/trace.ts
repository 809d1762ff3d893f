/**
 * The `onEvent` trace of a login: emits typed events (see `config/events.ts`) whose values are
 * redacted by allow-list (see `redaction.ts`), and never lets the app's listener break a login or
 * the process: a throw or a rejected promise is caught, counted and logged (the event's type,
 * never its values).
 *
 * @module
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'
import type { Config, FapiEvent, TracedJwt } from '../../config/index.js'
import { log } from '../log.js'
import type { ClientContext } from './context.js'
import { redacted } from './redaction.js'

export { redacted, redactedUrl } from './redaction.js'

/** The listener failures of each client, since it was made. */
const failures = new WeakMap<Config, number>()

/** What a listener's failure is logged as: its class name, never its message (it may hold values). */
function failureName(error: unknown): string {
  if (error instanceof Error) return error.name.slice(0, 40)
  return typeof error
}

/** Counts and logs a listener's throw or rejection. */
function listenerFailed(config: Config, type: FapiEvent['type'], error: unknown): void {
  const count = (failures.get(config) ?? 0) + 1
  failures.set(config, count)
  log.events(
    'onEvent listener failed on event %s (%s); ignored, %d failures so far',
    type,
    failureName(error),
    count,
  )
}

/**
 * Sends an event to `onEvent`, if any. The event is built (its values redacted, its JWTs decoded)
 * only when there is a listener: without one, a login pays nothing for the trace. The listener
 * may be sync or async: its exception, or the rejection of the promise it returns, is caught (a
 * trace must never change the outcome of a login, nor end the process with an unhandled
 * rejection).
 */
export function emit(context: ClientContext, build: () => FapiEvent): void {
  const { config } = context
  const listener = config.onEvent
  if (listener === undefined) return
  const event = build()
  try {
    const result: unknown = listener(event)
    if (
      typeof result === 'object' &&
      result !== null &&
      typeof (result as { then?: unknown }).then === 'function'
    ) {
      ;(result as PromiseLike<unknown>).then(undefined, (error: unknown) => {
        listenerFailed(config, event.type, error)
      })
    }
  } catch (error) {
    listenerFailed(config, event.type, error)
  }
}

/** Whether a trace is being taken (so that nothing is decoded for nobody). */
export function tracing(context: ClientContext): boolean {
  return context.config.onEvent !== undefined
}

/** A JWT's header and claims, redacted by allow-list; for a JWE (claims unreadable), the header. */
export function tracedJwt(jwt: string): TracedJwt {
  let header: Record<string, unknown> = {}
  try {
    header = redacted({ ...decodeProtectedHeader(jwt) })
  } catch {
    return { header: {}, claims: {} }
  }
  if (jwt.split('.').length !== 3) return { header, claims: {} }
  try {
    return { header, claims: redacted(decodeJwt(jwt)) }
  } catch {
    return { header, claims: {} }
  }
}
