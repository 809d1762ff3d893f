/**
 * The events of `onEvent`: one per step of a login, typed and redacted by allow-list. A value is
 * shown only if its name is on a short list of values known to be public (`response_type`,
 * `response_mode`, `scope`, `client_id`, `redirect_uri`, `code_challenge_method`, `prompt`,
 * `acr_values`, `max_age`, JOSE header members, JWT times, `iss`, `aud`, `acr`, `amr`, the
 * `type` of each `authorization_details` entry); every other value, at any depth (tokens, codes,
 * `state`, `nonce`, PKCE values, hints, `claims`, intent ids, ID token claims such as `sub`), is
 * {@link REDACTED} or reduced to its shape (member names, array lengths).
 *
 * @module
 */

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]'

/** What every event carries. */
export interface FapiEventBase {
  /**
   * A random id of the login the event belongs to (not its `state`): the same for every event of
   * one login, and in the login result (`traceId`). Undefined for a callback request that matched
   * no pending login.
   */
  readonly traceId: string | undefined
  /** When, in milliseconds since the epoch (the configured clock). */
  readonly at: number
}

/** A JWT as a trace shows it: its header and claims, redacted by allow-list. */
export interface TracedJwt {
  readonly header: Readonly<Record<string, unknown>>
  readonly claims: Readonly<Record<string, unknown>>
}

/** One step of a login. */
export type FapiEvent = FapiEventBase &
  (
    | {
        readonly type: 'login.started'
        readonly responseMode: string
        /** The names of the per-login authorization parameters (values not shown). */
        readonly parameters: readonly string[]
        /** What the ID token will be held to, from `max_age` and essential `acr` values. */
        readonly expects: { readonly maxAge?: number; readonly acr?: readonly string[] }
      }
    | {
        readonly type: 'metadata'
        readonly issuer: string
        readonly authorizationEndpoint: string
        readonly parEndpoint: string | undefined
        readonly tokenEndpoint: string
      }
    | ({ readonly type: 'request-object' } & TracedJwt)
    | {
        readonly type: 'par'
        readonly endpoint: string
        readonly status: number
        readonly expiresIn: number
        readonly durationMs: number
      }
    | {
        readonly type: 'authorization-redirect'
        /** The authorization URL, every query value not on the allow-list redacted. */
        readonly url: string
      }
    | ({
        readonly type: 'authorization-response'
        readonly responseMode: string
        readonly method: string
      } & TracedJwt)
    | {
        readonly type: 'token-response'
        readonly endpoint: string
        readonly durationMs: number
        /** The members of the token response, redacted by allow-list (tokens always). */
        readonly response: Readonly<Record<string, unknown>>
      }
    | ({ readonly type: 'id-token' } & TracedJwt)
    | { readonly type: 'login.completed'; readonly returnTo: string }
    | { readonly type: 'login.failed'; readonly code: string; readonly status: number }
  )

/** The names of the event types. */
export type FapiEventType = FapiEvent['type']
