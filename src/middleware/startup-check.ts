/**
 * The startup check of `router({ …, checkAtStartup })`: discovery and the server's JWKS fetched
 * and checked once, in the background, as soon as the routes are mounted, so that an issuer,
 * metadata or network mistake shows when the app starts rather than at the first login. A failure
 * never stops the app (the server may simply be down for now: the first login fetches again); it
 * is reported once, to the app's function or as one `console.error` line that names the code and
 * what to check.
 *
 * @module
 */
import type { FapiCore } from '../core/client.js'
import { toFapiError, type FapiError } from '../errors.js'

/** `true`: report a failure with `console.error`; a function: hand it the error instead. */
export type StartupCheck = boolean | ((error: FapiError) => void)

/** The line `checkAtStartup: true` writes. No secret: the message of a `FapiError` never has one. */
export function startupFailureLine(issuer: string, error: FapiError): string {
  return `express-fapi: the startup check of "${issuer}" failed with ${error.code} (${error.message}); logins fail until this is fixed, the app keeps running`
}

/** Runs the check in the background when asked to; resolves once it is done (for tests). */
export function runStartupCheck(
  core: FapiCore,
  issuer: string,
  check: StartupCheck | undefined,
): Promise<void> {
  if (check === undefined || check === false) return Promise.resolve()
  return core.ready().catch((error: unknown) => {
    const failure = toFapiError(error)
    if (typeof check === 'function') {
      try {
        check(failure)
      } catch {
        // The app's reporter failed: nothing else to tell.
      }
      return
    }
    console.error(startupFailureLine(issuer, failure))
  })
}
