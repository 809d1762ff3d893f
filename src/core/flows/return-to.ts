/**
 * Where the browser goes after a login: a path on this site, or a URL on one of the allowed
 * origins, never anything else (no open redirector: RFC 9700 §4.11, FAPI 2.0 §5.3.3.1 (4)).
 *
 * @module
 */
import { isSafeRelativePath, type Config } from '../../config/index.js'
import { FapiError, printable } from '../../errors.js'

function invalidReturnTo(reason: string): FapiError {
  return new FapiError('ERR_INVALID_RETURN_TO', `"returnTo" was refused: ${reason}`)
}

/** The checked `returnTo` of a login request (its query values), or the configured default. */
export function returnToOf(values: readonly string[], config: Config): string {
  if (values.length === 0) return config.defaultReturnTo
  const value = values[0]
  if (values.length > 1 || value === undefined) {
    throw invalidReturnTo('it was given more than once')
  }
  if (isSafeRelativePath(value)) return value
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalidReturnTo(
      'it must be a path on this site starting with one "/" (no "//", backslashes or control characters)',
    )
  }
  if (
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    config.returnToOrigins.includes(url.origin)
  ) {
    return url.href
  }
  throw invalidReturnTo(`the origin "${printable(url.origin, 100)}" is not in returnToOrigins`)
}
