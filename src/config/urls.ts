/**
 * The URL rules of the configuration: which URLs may reach the authorization server (https, or
 * http on loopback when allowed), which ones the browser may be sent to, and which `returnTo`
 * values are paths on this site.
 *
 * @module
 */
import { failOption as fail } from '../errors.js'

/** A loopback host: `localhost`, `[::1]` or an address in 127.0.0.0/8. */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  )
}

/**
 * Whether `url` may be used to talk to the authorization server: `https:`, or `http:` on a loopback
 * host when `allowInsecureLoopback` is set.
 */
export function isAllowedServerUrl(url: URL, allowInsecureLoopback: boolean): boolean {
  if (url.protocol === 'https:') return true
  return url.protocol === 'http:' && allowInsecureLoopback && isLoopbackHost(url.hostname)
}

/**
 * An absolute URL option: a non-empty string, no fragment, no credentials.
 *
 * @throws {FapiConfigError} naming `option`.
 */
export function parseUrl(option: string, value: unknown): URL {
  if (typeof value !== 'string' || value === '') fail(option, 'must be a non-empty URL string')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(option, `must be an absolute URL, got "${value}"`)
  }
  if (url.hash !== '') fail(option, 'must not have a fragment')
  if (url.username !== '' || url.password !== '') fail(option, 'must not carry credentials')
  return url
}

/**
 * A URL the browser is sent to with protocol data: https, or http on loopback when allowed.
 *
 * @throws {FapiConfigError} naming `option`.
 */
export function browserTarget(option: string, value: unknown, allowInsecureLoopback: boolean): URL {
  const url = parseUrl(option, value)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(option, 'must be an http(s) URL')
  if (url.protocol === 'http:' && !(allowInsecureLoopback && isLoopbackHost(url.hostname))) {
    fail(
      option,
      'must be an https URL (RFC 9700 §2.6). For loopback development, set allowInsecureLoopback: true',
    )
  }
  return url
}

/** A base no real site has, to resolve a path against as a browser would. */
const PROBE = 'https://path.invalid'

/**
 * A path on this site: starts with one `/`, no `//` or `/\` (protocol-relative URLs), no
 * backslashes or control characters (browsers normalise them into `/`); and, once its dot
 * segments are resolved as a browser resolves them (`/..//evil.com` and `/%2e%2e//evil.com` are
 * `//evil.com`), still a path on this site that does not start with `//`.
 */
export function isSafeRelativePath(value: string): boolean {
  if (
    !value.startsWith('/') ||
    value.startsWith('//') ||
    // eslint-disable-next-line no-control-regex
    /[\\\u0000-\u001f\u007f]/.test(value) ||
    value.length > 2048
  ) {
    return false
  }
  let resolved: URL
  try {
    resolved = new URL(value, PROBE)
  } catch {
    return false
  }
  return resolved.origin === PROBE && !resolved.pathname.startsWith('//')
}
