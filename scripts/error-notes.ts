/**
 * What docs/reference/errors.md says of an error code beyond its row in `ERROR_TABLE`: when it
 * happens besides what the default message says, and what to check. Markdown, one paragraph per
 * code (links are relative to docs/reference/); a code without a note is fully described by its
 * default message.
 *
 * After an edit here or in `ERROR_TABLE`, run `npm run docs:errors` (test/docs-errors.test.ts fails
 * until the committed page matches).
 */
import type { FapiErrorCode } from '../src/errors.js'

export const ERROR_NOTES: { readonly [C in FapiErrorCode]?: string } = {
  ERR_CALLBACK_MALFORMED:
    'Also when the callback has no parameters at all: it was opened directly (a bookmark, a reload).',
  ERR_RESPONSE_MODE_DOWNGRADE:
    'With PAR, the message adds that the server may ignore a pushed `response_mode`: register the client for the mode at the server.',
  ERR_AUTHORIZATION_PARAM_RESERVED:
    'A per-login `authorizationParams` names a parameter express-fapi sets itself (`state`, `nonce`, PKCE, `redirect_uri`, `response_type`, `response_mode`, `client_id`, `scope`, `request`, `request_uri`, `dpop_jkt`, JWT claims): the same list as at startup. Nothing was sent.',
  ERR_AUTHORIZATION_PARAMS_INVALID:
    'Also when their `max_age` is not a non-negative integer, or their `claims` is not a JSON object.',
  ERR_AUTHORIZATION_DETAILS_INVALID:
    'The `authorization_details` of a login or of `clientCredentials()`.',
  ERR_AUTHORIZATION_DETAILS_TYPE_UNSUPPORTED: 'Nothing was sent.',
  ERR_CLIENT_CREDENTIALS_REQUEST_INVALID:
    '`clientCredentials()` or `fetchAsClient()`: an unknown name, a malformed `scope`, a `resource` that is not an absolute URL.',
  ERR_SERVER_UNKNOWN:
    "A login of `fapiClients()` names no server of the set (`?server=`, or the app's `select`), or one it does not know.",
  ERR_REQUEST_OBJECT_NOT_FOUND:
    'Each request object by reference is served once and lives a short time: a second fetch, or one after its lifetime, gets this.',
  ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH: 'A mix-up (RFC 9207 §2.4).',
  ERR_SERVER_AMBIGUOUS:
    'A login of `fapiClients()` names its server more than once (`?server=a&server=b`); it is never silently the first.',
  ERR_SERVER_RESOLUTION_FAILED:
    'A bank of `fapiClients()` resolved on demand could not be created: the resolver failed (its error is withheld), or its options are refused (the message says why). A failure is remembered no longer than `retryAfter`; see [banks resolved on demand](../guides/several-banks-on-demand.md).',
  ERR_MIX_UP_DETECTED:
    "On every callback, shared path or one per bank, Express, Connect or the core: the response for a login at one server carries another configured server's `iss`, or is signed by another configured server's keys. Rejected before any token request; the pending login is kept for its real response.",
  ERR_TRANSACTION_NOT_FOUND:
    "Replayed, started in another browser, a lost session cookie, or evicted (`maxPendingLogins`). If every login ends here, the session cookie does not come back to the callback: a `secure: true` cookie is never set over plain `http://localhost`, and a `sameSite: 'strict'` cookie is not sent with the redirect back from the server (use `'lax'`; see [the cookie problem](../guides/response-modes-and-cookies.md#the-cookie-problem)).",
  ERR_AUTHORIZATION_ERROR:
    'The OAuth error is in `err.error`, its description in `err.errorDescription`. HTTP 403 when the error is `access_denied` (the user declined).',
  ERR_AUTHORIZATION_ERROR_UNVERIFIED:
    'It may come from anyone (RFC 9207 §2.4); `err.verified` is `false`. Show it, never act on it; the pending login is kept.',
  ERR_LOGIN_REQUIRED: 'Also when `fetchResource()` or `refresh()` found no login.',
  ERR_LOGIN_REFUSED:
    "The app's `beforeSession` hook refused the login (its reason is the message); no session was made, no `onLogin` called.",
  ERR_CLAIMS_CHECK_FAILED:
    "`requiresAuth({ claims })`: the logged-in user's claims do not pass the predicate.",
  ERR_ACR_INSUFFICIENT:
    "`requiresAuth({ acr })`: the login's `acr` is not one of the listed values; start a login that asks for one.",
  ERR_DISCOVERY_INVALID:
    'Also when an endpoint used with the client certificate is not https. The message names the metadata field.',
  ERR_ENCRYPTION_KEY_NOT_FOUND:
    "`encryption.requestObject` is on, but the server's JWKS has no `use: enc` key for the algorithms its metadata offers.",
  ERR_CLIENT_AUTH_REFUSED:
    "The server refused the client authentication: an `invalid_client` error (RFC 6749 §5.2), or 401/403 without an OAuth error body. The message lists what to check for the method used: the registered `client_id` and method, the assertion's `aud` (`clientAssertionAudience`), `nbf`/`iat`/`exp` against the server's clock, the registered public key (`kid`, `jwks` or `jwks_uri`) and signing algorithm, the secret, or the registered certificate under mTLS.",
  ERR_TOKEN_REJECTED:
    'For example `invalid_grant` for a code used twice, or a refresh token that is expired, revoked or already rotated.',
  ERR_TOKEN_TYPE_UNSUPPORTED: '`DPoP` is expected with DPoP, else `Bearer`.',
  ERR_TOKEN_NOT_SENDER_CONSTRAINED:
    'DPoP was used but the server did not bind the token (RFC 9449 §5).',
  ERR_AUTHORIZATION_DETAILS_NOT_GRANTED: 'Also when they are missing. No session is made.',
  ERR_ID_TOKEN_ISS_MISMATCH:
    "For a refreshed ID token, also when it is not the original's (OIDC Core §12.2).",
  ERR_ID_TOKEN_AUD_MISMATCH: "For a refreshed ID token, also when it is not the original's.",
  ERR_ID_TOKEN_IAT_TOO_OLD: '`iat` is older than `idTokenMaxAge` (OIDC Core §3.1.3.7 (10)).',
  ERR_ID_TOKEN_CLAIMS_INVALID:
    "Also when a refreshed ID token's `auth_time` is not the original's.",
  ERR_ID_TOKEN_ACR_NOT_GRANTED:
    "`acr` was requested as essential (`claims.id_token.acr` with `essential: true`) and the ID token's `acr` is missing or not one of the requested values (OIDC Core §3.1.3.7 (12)).",
  ERR_ID_TOKEN_CLAIM_VALUE_MISMATCH:
    'A claim requested in `claims.id_token` as essential with a `value` (an intent id, say). No session is made.',
  ERR_ID_TOKEN_AUTH_TIME_MISSING: 'OIDC Core §3.1.2.1.',
  ERR_ID_TOKEN_AUTH_TIME_TOO_OLD:
    '`auth_time` is older than `max_age` plus `clockTolerance` (OIDC Core §3.1.3.7 (13)).',
  ERR_REFRESH_TOKEN_MISSING: 'Log in again. `fetchResource()` never refreshes without one.',
  ERR_RESOURCE_REQUEST_INVALID:
    'A relative URL, credentials or `access_token` in it, http off loopback, an `Authorization` or `DPoP` header.',
  ERR_RESOURCE_INTERACTION_ID_MISMATCH: 'The answer is not for this call.',
  ERR_USERINFO_INVALID:
    'A signed (or encrypted) userinfo JWT is checked like an ID token (keys, algorithm, `iss`, `aud`); the cause names the check (OIDC Core §5.3.2).',
  ERR_USERINFO_SUB_MISMATCH: 'None of the answer is used.',
  ERR_COORDINATION_UNAVAILABLE:
    'The coordination store (`coordination`, e.g. Redis) could not be reached or did not answer within its `commandTimeout`: nothing was redeemed or refreshed; try again once it is back.',
  ERR_COORDINATION_TIMEOUT:
    'Another instance was refreshing the same login and did not finish within the wait: try again.',
  ERR_LOGIN_OWNER_MISSING:
    "A login at a server that links to the session's owner (not the `identity` server of `fapiClients()`) in a session with no owner yet (no active login at the identity server), or `principal(req)` named no user. Checked when the login starts (refused before any pushed request or redirect to the server) and again at the callback (the owner may have gone while the user was at the server), where what the server issued is revoked.",
  ERR_REGISTRATION_REJECTED:
    "RFC 7591 §3.2.2: the server's error (e.g. `invalid_software_statement`, `invalid_redirect_uri`) is in the message; without one, check the initial or registration access token, or the client certificate.",
  ERR_TOKEN_RESPONSE_INVALID:
    'Also when its `expires_in` is not a finite number of seconds up to 10 years.',
  ERR_SIGNER_FAILED:
    "An external signer of `keys.signing` (its `sign()`). The message names its `kid`, never the data or the signer's own message. Nothing was sent to the server.",
  ERR_SIGNING_KEY_UNAVAILABLE:
    'After `updateKeys()`, no `active` signing key uses an algorithm the server accepts for request objects or client assertions.',
  ERR_GRANT_STORE_UNAVAILABLE:
    'The grant store (`grants`, e.g. Redis) could not be reached, did not answer within its `commandTimeout`, or (in memory) is full: no grant was created, refreshed or read; try again once it is back. At logout: the session ended, but the grants it referred to stay active, their tokens unrevoked; the message names their servers. Once the store is back, end them (`findGrants({ owner })`, then `grant(id).end()`).',
  ERR_LOGOUT_INCOMPLETE:
    'A logout with `fapiClients(resolve)`: the session held a grant of a bank that is not in the cache (evicted, or created on another instance), and the bank could not be created again to end it (the resolver failed or no longer knows the name, or the bank did not answer). The session ended; that grant stays active and its tokens unrevoked; the message names the banks. End it once the bank resolves (`findGrants({ owner })`, then `grant(id).end()`).',
  ERR_REQUEST_OBJECT_STORE_FULL:
    "The in-memory store holds 1000 objects waiting for the server's fetch: the login is refused instead of dropping another user's pending object (RFC 9101 §5.2). Try again shortly, or give a shared `requestObjectStore`.",
}
