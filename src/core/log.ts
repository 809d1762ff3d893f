/**
 * express-fapi's logging, with `debug` (the convention of the Express ecosystem: silent, and
 * almost free, unless `DEBUG=express-fapi:*` is set). One namespace per concern:
 * `express-fapi:discovery`, `:keys`, `:login`, `:callback`, `:token`, `:refresh`, `:http`,
 * `:events` (failures of the app's `onEvent` listener).
 *
 * What is logged: each decision and each failure with its code. What is never logged: tokens,
 * authorization codes, client assertions, keys, `nonce`, `state`, PKCE values, `request_uri`s and
 * claim values. Callers pass only such safe values (names, codes, statuses, counts, URLs without
 * their query); {@link safeUrl} drops the query and fragment of a URL.
 *
 * @module
 */
import createDebug from 'debug'
import { FapiError } from '../errors.js'

const root = 'express-fapi'

/** The loggers, by concern. */
export const log = {
  discovery: createDebug(`${root}:discovery`),
  keys: createDebug(`${root}:keys`),
  login: createDebug(`${root}:login`),
  callback: createDebug(`${root}:callback`),
  token: createDebug(`${root}:token`),
  refresh: createDebug(`${root}:refresh`),
  http: createDebug(`${root}:http`),
  events: createDebug(`${root}:events`),
} as const

/** A URL without its query and fragment (where secrets could be), for a log line. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return '(not a URL)'
  }
}

/**
 * The `express-fapi:http` line of one exchange: `what`, the method, the URL without its query and
 * the status, or the failure's code. The URL is parsed only when the namespace is enabled.
 */
export function logExchange(
  what: string,
  method: string,
  url: string,
  outcome: { readonly status: number } | { readonly error: unknown },
): void {
  if (!log.http.enabled) return
  if ('status' in outcome) {
    log.http('%s: %s %s -> HTTP %d', what, method, safeUrl(url), outcome.status)
  } else {
    log.http('%s: %s %s failed: %s', what, method, safeUrl(url), failureOf(outcome.error))
  }
}

/** The code (and status) of a failure, never its message details beyond our own text. */
export function failureOf(error: unknown): string {
  if (error instanceof FapiError) return `${error.code} (${error.status}): ${error.message}`
  return 'ERR_INTERNAL (unexpected failure)'
}
