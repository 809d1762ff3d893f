/**
 * The `onEvent` trace of a login: emits typed events (see `config/events.ts`) with every secret
 * redacted, and never lets the app's listener break a login.
 *
 * @module
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { REDACTED, type FapiEvent, type TracedJwt } from '../../config/index.js'
import type { ClientContext } from './context.js'

/** The claims and parameters a trace never shows. */
const SECRET_NAMES = new Set([
  'state',
  'nonce',
  'code',
  'code_challenge',
  'code_verifier',
  'request',
  'request_uri',
  'client_assertion',
  'access_token',
  'refresh_token',
  'id_token',
  'dpop_jkt',
])

/** Sends an event to `onEvent`, if any; the listener's exceptions are swallowed. */
export function emit(context: ClientContext, event: FapiEvent): void {
  const listener = context.config.onEvent
  if (listener === undefined) return
  try {
    listener(event)
  } catch {
    // A trace must never change the outcome of a login.
  }
}

/** Whether a trace is being taken (so that nothing is decoded for nobody). */
export function tracing(context: ClientContext): boolean {
  return context.config.onEvent !== undefined
}

/** A copy of `values` with the secret members redacted. */
export function redacted(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(values)) {
    copy[name] = SECRET_NAMES.has(name) ? REDACTED : value
  }
  return copy
}

/** A JWT's header and redacted claims; for a JWE (claims unreadable), the header only. */
export function tracedJwt(jwt: string): TracedJwt {
  let header: Record<string, unknown> = {}
  try {
    header = { ...decodeProtectedHeader(jwt) }
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

/** A URL with its secret query parameters redacted. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url)
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_NAMES.has(name)) parsed.searchParams.set(name, REDACTED)
  }
  return parsed.href
}
