/**
 * Errors of express-fapi.
 *
 * Two kinds, never mixed:
 * - {@link FapiConfigError}: a configuration mistake, thrown synchronously at startup by
 *   `fapiClient()`; its message says which option to change.
 * - {@link FapiError} and its subclasses: a request-time failure, passed to `next(err)`. Each has a
 *   stable `code` (the contract: documented in docs/reference/errors.md), an HTTP `status`, and,
 *   where useful, a `cause`. Messages name the claim or parameter and what was expected; they
 *   never contain tokens, authorization codes or keys, and neither does the `cause` (it is reduced
 *   to its name, code and a redacted message: see {@link FapiError}).
 *
 * Every code has one row in {@link ERROR_TABLE}: its class, its HTTP status and its default
 * message. A throw site names the code (never a code built from parts) and, where it knows more,
 * a message; the status comes from the table.
 *
 * @module
 */

/** The classes of request-time errors, by name. */
type ErrorKind =
  | 'FapiError'
  | 'AuthorizationResponseError'
  | 'AuthorizationError'
  | 'ServerResponseError'
  | 'IdTokenError'
  | 'SessionError'
  | 'CoordinationError'

interface ErrorRow {
  readonly kind: ErrorKind
  readonly status: number
  readonly message: string
}

/**
 * Every request-time error code: the class that carries it, its HTTP status and its default
 * message. The one exception to a fixed status: `ERR_AUTHORIZATION_ERROR` is 403 when the server's
 * error is `access_denied` (the user declined).
 *
 * The reference page docs/reference/errors.md is written from this table (and the notes in
 * scripts/error-notes.ts) by `npm run docs:errors`.
 */
export const ERROR_TABLE = Object.freeze({
  // the callback request itself
  ERR_CALLBACK_MALFORMED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message:
      'the callback request is not an authorization response: no "response", more than one, or an empty one',
  },
  ERR_CALLBACK_BODY_TOO_LARGE: {
    kind: 'AuthorizationResponseError',
    status: 413,
    message: "the callback's form body is over maxCallbackBodyBytes",
  },
  ERR_CALLBACK_CONTENT_TYPE: {
    kind: 'AuthorizationResponseError',
    status: 415,
    message: 'a callback POST that is not application/x-www-form-urlencoded',
  },
  ERR_RESPONSE_MODE_DOWNGRADE: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message:
      'a plain (unsigned) authorization response (code, state, error, …) where JARM was requested',
  },
  ERR_RESPONSE_MODE_MISMATCH: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message:
      "the response arrived by GET where a POST was expected, or the reverse, or in another mode than the pending login's",
  },
  ERR_REDIRECT_URI_MISMATCH: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: "the callback is mounted at another path than redirectUri's",
  },
  ERR_CALLBACK_METHOD_NOT_ALLOWED: {
    kind: 'AuthorizationResponseError',
    status: 405,
    message: 'the callback accepts GET and POST only',
  },
  // starting a login with per-login options
  ERR_AUTHORIZATION_PARAM_RESERVED: {
    kind: 'FapiError',
    status: 500,
    message: 'a per-login authorization parameter is one express-fapi sets itself',
  },
  ERR_AUTHORIZATION_PARAMS_INVALID: {
    kind: 'FapiError',
    status: 500,
    message:
      'the per-login authorization parameters are not an object of strings, numbers, booleans and objects',
  },
  ERR_AUTHORIZATION_DETAILS_INVALID: {
    kind: 'FapiError',
    status: 500,
    message:
      'authorization_details is not a non-empty array of objects with a string type (RFC 9396 \u00a72)',
  },
  ERR_AUTHORIZATION_DETAILS_TYPE_UNSUPPORTED: {
    kind: 'FapiError',
    status: 500,
    message:
      "an authorization_details type is not in the server's authorization_details_types_supported (RFC 9396 \u00a710)",
  },
  ERR_CLIENT_CREDENTIALS_REQUEST_INVALID: {
    kind: 'FapiError',
    status: 500,
    message:
      'clientCredentials() was given parameters it does not send (unknown names, a malformed scope or resource)',
  },
  ERR_RESPONSE_MODE_NOT_ALLOWED: {
    kind: 'FapiError',
    status: 400,
    message: 'the login asked for a response mode that is not in responseModes',
  },
  ERR_SERVER_UNKNOWN: {
    kind: 'FapiError',
    status: 400,
    message: 'the login names no server of this app, or one it does not know',
  },
  ERR_SERVER_AMBIGUOUS: {
    kind: 'FapiError',
    status: 400,
    message: 'the request names its server more than once (?server= repeated)',
  },
  ERR_SERVER_RESOLUTION_FAILED: {
    kind: 'FapiError',
    status: 503,
    message:
      'a bank resolved on demand could not be created (the resolver failed, or gave options that are refused)',
  },
  ERR_REQUEST_OBJECT_NOT_FOUND: {
    kind: 'FapiError',
    status: 404,
    message:
      'no request object by reference at this URL: unknown, fetched already, or expired (RFC 9101 \u00a75.2)',
  },
  // a plain (query) authorization response: RFC 9207 issuer identification
  ERR_AUTHORIZATION_RESPONSE_ISS_MISSING: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'a plain (query) response has no iss, though the server promises it (RFC 9207 §2.4)',
  },
  ERR_AUTHORIZATION_RESPONSE_ISS_MISMATCH: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: "a plain response's iss (URL-decoded) is not exactly the issuer",
  },
  ERR_MIX_UP_DETECTED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message:
      "the response for a login at one server carries another configured server's iss, or is signed by its keys (RFC 9700 \u00a74.4)",
  },
  // the JARM response
  ERR_JARM_MALFORMED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'response is not a compact JWS with JSON header and payload',
  },
  ERR_JARM_ENCRYPTED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'response is a JWE, but this client has no keys.encryption',
  },
  ERR_JARM_NOT_ENCRYPTED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'response is not a JWE, but encryption.authorizationResponse is on',
  },
  ERR_JARM_ENC_ALG_NOT_ALLOWED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: "the JWE's alg or enc is not allowed (RSA1_5, symmetric key wrapping, unknown)",
  },
  ERR_JARM_DECRYPTION_FAILED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: "no client key matches the JWE's kid and alg, or it does not decrypt",
  },
  ERR_JARM_ALG_NOT_ALLOWED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message:
      "the JWT's alg is not one the profile allows and the server advertises (none, HS*, RS256 are never allowed)",
  },
  ERR_JARM_ISS_MISMATCH: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'iss is not the configured issuer (checked before any key lookup)',
  },
  ERR_JARM_AUD_MISMATCH: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'aud is not this client, or lists other audiences too',
  },
  ERR_JARM_EXPIRED: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'exp is in the past (beyond clockTolerance)',
  },
  ERR_JARM_IAT_IN_FUTURE: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'iat is in the future (beyond clockTolerance)',
  },
  ERR_JARM_SIGNATURE_INVALID: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'the signature does not verify',
  },
  ERR_JARM_KEY_NOT_FOUND: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message:
      "no key (or more than one) of the server's JWKS matches kid and the algorithm, even after a refetch",
  },
  ERR_JARM_CLAIMS_INVALID: {
    kind: 'AuthorizationResponseError',
    status: 400,
    message: 'a required claim (exp, state, code or error) is missing or has the wrong type',
  },
  // transactions and sessions
  ERR_TRANSACTION_NOT_FOUND: {
    kind: 'SessionError',
    status: 400,
    message: "no pending login in this session for the response's state",
  },
  ERR_TRANSACTION_EXPIRED: {
    kind: 'SessionError',
    status: 400,
    message: 'the pending login is older than pendingLoginMaxAge',
  },
  ERR_SESSION_MISSING: {
    kind: 'SessionError',
    status: 500,
    message: 'express-session is not mounted before express-fapi',
  },
  ERR_SESSION_STORE: {
    kind: 'SessionError',
    status: 500,
    message: 'the session store failed to save or regenerate the session',
  },
  ERR_INVALID_RETURN_TO: {
    kind: 'FapiError',
    status: 400,
    message: 'returnTo is not a path on this site or a URL on returnToOrigins',
  },
  // guards
  ERR_LOGIN_REQUIRED: {
    kind: 'SessionError',
    status: 401,
    message:
      "login required: requiresAuth() answered a script's request (JSON Accept or X-Requested-With) of a user who is not logged in",
  },
  // the app's hooks and guards
  ERR_LOGIN_REFUSED: {
    kind: 'FapiError',
    status: 403,
    message: 'this login is not allowed here',
  },
  ERR_LOGIN_OWNER_MISSING: {
    kind: 'FapiError',
    status: 403,
    message:
      "this login links a server to the session's owner, and the session has none: log in at the identity server (or to the app) first",
  },
  ERR_CLAIMS_CHECK_FAILED: {
    kind: 'FapiError',
    status: 403,
    message: 'this login may not open this page',
  },
  ERR_ACR_INSUFFICIENT: {
    kind: 'FapiError',
    status: 403,
    message: 'this page needs a stronger authentication',
  },
  // the authorization server said no
  ERR_AUTHORIZATION_ERROR: {
    kind: 'AuthorizationError',
    status: 400,
    message: 'the server answered with an error (err.error, err.errorDescription)',
  },
  ERR_AUTHORIZATION_ERROR_UNVERIFIED: {
    kind: 'AuthorizationError',
    status: 400,
    message: 'a plain error response without iss from a server that does not promise one',
  },
  // the authorization server's HTTP answers
  ERR_AS_TIMEOUT: {
    kind: 'ServerResponseError',
    status: 504,
    message: 'the server did not answer within httpTimeout',
  },
  ERR_AS_UNREACHABLE: {
    kind: 'ServerResponseError',
    status: 502,
    message:
      'the server could not be reached (refused, reset, DNS, a certificate that does not verify)',
  },
  ERR_AS_HTTP_STATUS: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the server answered an unexpected HTTP status',
  },
  ERR_AS_INVALID_JSON: {
    kind: 'ServerResponseError',
    status: 502,
    message: "the server's answer is not a JSON object",
  },
  ERR_AS_RESPONSE_TOO_LARGE: {
    kind: 'ServerResponseError',
    status: 502,
    message: "the server's answer is over maxResponseBytes",
  },
  ERR_DISCOVERY_ISSUER_MISMATCH: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the metadata issuer is not exactly the configured issuer',
  },
  ERR_DISCOVERY_INVALID: {
    kind: 'ServerResponseError',
    status: 502,
    message:
      'the metadata lacks an endpoint, the response mode, PKCE S256, the client authentication method, an algorithm the profile allows, DPoP support (dpop_signing_alg_values_supported), certificate binding (tls_client_certificate_bound_access_tokens), the RFC 9207 promise (fapi2-security, plain mode), or request-object encryption algorithms',
  },
  ERR_JWKS_INVALID: {
    kind: 'ServerResponseError',
    status: 502,
    message: "the server's JWKS has no keys array",
  },
  ERR_ENCRYPTION_KEY_NOT_FOUND: {
    kind: 'ServerResponseError',
    status: 502,
    message: "encryption.requestObject is on, but the server's JWKS has no use: enc key for it",
  },
  ERR_PAR_REJECTED: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the PAR endpoint answered an OAuth error',
  },
  ERR_CLIENT_AUTH_REFUSED: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the PAR or token endpoint answered 401 or 403 without an OAuth error body',
  },
  ERR_REGISTRATION_REJECTED: {
    kind: 'ServerResponseError',
    status: 502,
    message:
      'the registration endpoint refused the registration, read, update or delete (an OAuth error such as invalid_software_statement, or 401/403)',
  },
  ERR_REGISTRATION_INVALID: {
    kind: 'ServerResponseError',
    status: 502,
    message:
      'the registration answer lacks client_id, or changes what the profile requires (auth method, an algorithm, the token binding, the redirect URI)',
  },
  ERR_REGISTRATION_STORE_UNAVAILABLE: {
    kind: 'ServerResponseError',
    status: 503,
    message: 'the registration store could not be reached',
  },
  ERR_SOFTWARE_STATEMENT_UNAVAILABLE: {
    kind: 'FapiError',
    status: 502,
    message: 'the softwareStatement function failed or did not return a compact JWT',
  },
  ERR_PAR_RESPONSE_INVALID: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the PAR answer lacks request_uri or a positive expires_in',
  },
  ERR_TOKEN_REJECTED: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the token endpoint answered an OAuth error',
  },
  ERR_TOKEN_RESPONSE_INVALID: {
    kind: 'ServerResponseError',
    status: 502,
    message:
      'the token response lacks access_token or token_type, or has a member of the wrong type',
  },
  ERR_TOKEN_TYPE_UNSUPPORTED: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'token_type is not the type asked for (case-insensitive)',
  },
  ERR_TOKEN_NOT_SENDER_CONSTRAINED: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'DPoP was used but token_type is Bearer',
  },
  ERR_AUTHORIZATION_DETAILS_NOT_GRANTED: {
    kind: 'ServerResponseError',
    status: 403,
    message:
      "the token response's authorization_details are not what the login asked for, as grantedAuthorizationDetails requires (RFC 9396 \u00a77)",
  },
  // the ID token
  ERR_ID_TOKEN_MISSING: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the token response has no id_token',
  },
  ERR_ID_TOKEN_MALFORMED: {
    kind: 'IdTokenError',
    status: 502,
    message: 'the ID token is not a compact JWS with JSON header and payload',
  },
  ERR_ID_TOKEN_ENCRYPTED: {
    kind: 'IdTokenError',
    status: 502,
    message: 'the ID token is a JWE, but this client has no keys.encryption',
  },
  ERR_ID_TOKEN_NOT_ENCRYPTED: {
    kind: 'IdTokenError',
    status: 502,
    message: 'the ID token is not a JWE, but encryption.idToken is on (OIDC Core §3.1.3.7 (1))',
  },
  ERR_ID_TOKEN_ENC_ALG_NOT_ALLOWED: {
    kind: 'IdTokenError',
    status: 502,
    message:
      "the ID token JWE's alg or enc is not allowed (RSA1_5, symmetric key wrapping, unknown)",
  },
  ERR_ID_TOKEN_DECRYPTION_FAILED: {
    kind: 'IdTokenError',
    status: 502,
    message: "no client key matches the ID token JWE's kid and alg, or it does not decrypt",
  },
  ERR_ID_TOKEN_ALG_NOT_ALLOWED: {
    kind: 'IdTokenError',
    status: 502,
    message: "the ID token's alg is not allowed (never none)",
  },
  ERR_ID_TOKEN_KEY_NOT_FOUND: {
    kind: 'IdTokenError',
    status: 502,
    message: "no single key of the server matches the ID token's kid and algorithm",
  },
  ERR_ID_TOKEN_SIGNATURE_INVALID: {
    kind: 'IdTokenError',
    status: 502,
    message: "the ID token's signature does not verify",
  },
  ERR_ID_TOKEN_ISS_MISMATCH: {
    kind: 'IdTokenError',
    status: 502,
    message: 'iss is not the configured issuer',
  },
  ERR_ID_TOKEN_AUD_MISMATCH: {
    kind: 'IdTokenError',
    status: 502,
    message: 'aud is not this client, or lists other audiences too',
  },
  ERR_ID_TOKEN_AZP_MISMATCH: {
    kind: 'IdTokenError',
    status: 502,
    message: 'azp is present and not this client',
  },
  ERR_ID_TOKEN_EXPIRED: { kind: 'IdTokenError', status: 502, message: 'exp is in the past' },
  ERR_ID_TOKEN_IAT_IN_FUTURE: {
    kind: 'IdTokenError',
    status: 502,
    message: 'iat is in the future',
  },
  ERR_ID_TOKEN_CLAIMS_INVALID: {
    kind: 'IdTokenError',
    status: 502,
    message: 'iss, sub, aud, exp or iat is missing or of the wrong type',
  },
  ERR_ID_TOKEN_NONCE_MISMATCH: {
    kind: 'IdTokenError',
    status: 502,
    message: 'nonce is not the nonce of this login (a refreshed ID token may leave it out)',
  },
  ERR_ID_TOKEN_AT_HASH_MISMATCH: {
    kind: 'IdTokenError',
    status: 502,
    message: 'at_hash is present and does not match the access token',
  },
  ERR_ID_TOKEN_SUB_MISMATCH: {
    kind: 'IdTokenError',
    status: 502,
    message: "a refreshed ID token's sub is not the original ID token's (OIDC Core §12.2)",
  },
  ERR_ID_TOKEN_IAT_TOO_OLD: {
    kind: 'IdTokenError',
    status: 502,
    message: 'the ID token was issued longer ago than idTokenMaxAge allows',
  },
  ERR_ID_TOKEN_ACR_NOT_GRANTED: {
    kind: 'IdTokenError',
    status: 502,
    message:
      'acr was requested as essential and the ID token does not carry one of the requested values',
  },
  ERR_ID_TOKEN_CLAIM_VALUE_MISMATCH: {
    kind: 'IdTokenError',
    status: 502,
    message:
      'a claim requested as essential with a value (OIDC Core \u00a75.5.1) is missing from the ID token or has another value',
  },
  ERR_ID_TOKEN_AUTH_TIME_MISSING: {
    kind: 'IdTokenError',
    status: 502,
    message: 'max_age was requested and the ID token has no auth_time',
  },
  ERR_ID_TOKEN_AUTH_TIME_TOO_OLD: {
    kind: 'IdTokenError',
    status: 502,
    message: 'the user authenticated longer ago than max_age allows',
  },
  // refreshing a login
  ERR_REFRESH_TOKEN_MISSING: {
    kind: 'SessionError',
    status: 401,
    message: 'refresh() found a login without a refresh token (the server issued none)',
  },
  // the resource helper
  ERR_RESOURCE_REQUEST_INVALID: {
    kind: 'FapiError',
    status: 500,
    message: 'fetchResource() was asked for a request it does not make',
  },
  ERR_RESOURCE_TIMEOUT: {
    kind: 'ServerResponseError',
    status: 504,
    message: 'the resource server did not answer within httpTimeout',
  },
  ERR_RESOURCE_UNREACHABLE: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the resource server could not be reached (refused, reset, TLS failure)',
  },
  ERR_RESOURCE_RESPONSE_TOO_LARGE: {
    kind: 'ServerResponseError',
    status: 502,
    message: "the resource server's answer is over maxResponseBytes",
  },
  // the coordination store of several instances
  ERR_COORDINATION_UNAVAILABLE: {
    kind: 'CoordinationError',
    status: 503,
    message: 'the coordination store shared by the instances could not be used',
  },
  ERR_COORDINATION_TIMEOUT: {
    kind: 'CoordinationError',
    status: 503,
    message: 'another instance did not finish in time the work this request waits for',
  },
  // back-channel logout (OpenID Connect Back-Channel Logout 1.0)
  ERR_LOGOUT_TOKEN_MISSING: {
    kind: 'FapiError',
    status: 400,
    message:
      'the back-channel logout request has no single logout_token form parameter (Back-Channel Logout 1.0 §2.5)',
  },
  ERR_LOGOUT_TOKEN_MALFORMED: {
    kind: 'FapiError',
    status: 400,
    message: 'the logout token is not a compact JWS (an encrypted one is not accepted) (§2.6 (1))',
  },
  ERR_LOGOUT_TOKEN_ALG_NOT_ALLOWED: {
    kind: 'FapiError',
    status: 400,
    message: 'the logout token is signed with an algorithm not allowed for this server (§2.6 (2))',
  },
  ERR_LOGOUT_TOKEN_ISS_MISMATCH: {
    kind: 'FapiError',
    status: 400,
    message: 'the iss of the logout token is not a server of this app (§2.6 (2))',
  },
  ERR_LOGOUT_TOKEN_KEY_NOT_FOUND: {
    kind: 'FapiError',
    status: 400,
    message: 'no key of the server matches the kid and alg of the logout token (§2.6 (2))',
  },
  ERR_LOGOUT_TOKEN_SIGNATURE_INVALID: {
    kind: 'FapiError',
    status: 400,
    message:
      'the signature of the logout token does not verify with the keys of the server (§2.6 (2))',
  },
  ERR_LOGOUT_TOKEN_AUD_MISMATCH: {
    kind: 'FapiError',
    status: 400,
    message: 'the aud of the logout token is not this client (§2.6 (2))',
  },
  ERR_LOGOUT_TOKEN_EXPIRED: {
    kind: 'FapiError',
    status: 400,
    message: 'the exp of the logout token is in the past (§2.6 (2))',
  },
  ERR_LOGOUT_TOKEN_IAT_IN_FUTURE: {
    kind: 'FapiError',
    status: 400,
    message: 'the iat of the logout token is in the future (§2.6 (2))',
  },
  ERR_LOGOUT_TOKEN_CLAIMS_INVALID: {
    kind: 'FapiError',
    status: 400,
    message: 'the logout token lacks iat, exp or jti, or one of them is not of its type (§2.4)',
  },
  ERR_LOGOUT_TOKEN_TYP_INVALID: {
    kind: 'FapiError',
    status: 400,
    message: 'the typ header of the logout token is not logout+jwt (§2.4, explicit typing)',
  },
  ERR_LOGOUT_TOKEN_SUBJECT_MISSING: {
    kind: 'FapiError',
    status: 400,
    message: 'the logout token has neither sid nor sub (§2.6 (3))',
  },
  ERR_LOGOUT_TOKEN_EVENTS_INVALID: {
    kind: 'FapiError',
    status: 400,
    message:
      'the events claim of the logout token has no backchannel-logout member that is a JSON object (§2.6 (4))',
  },
  ERR_LOGOUT_TOKEN_NONCE_PRESENT: {
    kind: 'FapiError',
    status: 400,
    message: 'the logout token has a nonce: it may be an ID token (§2.6 (5), §4.1)',
  },
  ERR_LOGOUT_TOKEN_REPLAYED: {
    kind: 'FapiError',
    status: 400,
    message: 'a logout token with this jti was received already (§2.6 (6))',
  },
  ERR_REQUEST_OBJECT_STORE_FULL: {
    kind: 'FapiError',
    status: 503,
    message:
      'the in-memory store of request objects by reference is full; no pending login was dropped',
  },
  ERR_GRANT_STORE_UNAVAILABLE: {
    kind: 'CoordinationError',
    status: 503,
    message: 'the grant store could not be used (unreachable, too slow, or full)',
  },
  ERR_LOGOUT_INCOMPLETE: {
    kind: 'FapiError',
    status: 503,
    message:
      'logout: the session ended, but a bank resolved on demand could not be created to end its grant',
  },
  ERR_RESOURCE_INTERACTION_ID_MISMATCH: {
    kind: 'ServerResponseError',
    status: 502,
    message:
      'the resource server echoed another x-fapi-interaction-id than the one sent (FAPI 1.0 Part 1 \u00a76.2.1 (11))',
  },
  ERR_USERINFO_UNAVAILABLE: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'userinfo() found no userinfo_endpoint in the server metadata',
  },
  ERR_USERINFO_REJECTED: {
    kind: 'ServerResponseError',
    status: 502,
    message: 'the userinfo endpoint answered with another status than 200',
  },
  ERR_USERINFO_INVALID: {
    kind: 'ServerResponseError',
    status: 502,
    message:
      'the userinfo answer is not a JSON object, or a signed one that does not verify like an ID token',
  },
  ERR_USERINFO_SUB_MISMATCH: {
    kind: 'ServerResponseError',
    status: 502,
    message: "the userinfo sub is not the ID token's (OIDC Core \u00a75.3.4)",
  },
  // the client's own signing keys: an external signer, a key rotation
  ERR_SIGNER_FAILED: {
    kind: 'FapiError',
    status: 502,
    message: 'the external signer of a signing key rejected or threw',
  },
  ERR_SIGNER_TIMEOUT: {
    kind: 'FapiError',
    status: 504,
    message: 'the external signer did not answer within its timeout (default httpTimeout)',
  },
  ERR_SIGNER_SIGNATURE_INVALID: {
    kind: 'FapiError',
    status: 502,
    message:
      'the external signer returned no bytes, the wrong length for alg, or a signature that does not verify against its publicJwk',
  },
  ERR_SIGNING_KEY_UNAVAILABLE: {
    kind: 'FapiError',
    status: 500,
    message: 'after a key update, no active signing key uses an algorithm the server accepts',
  },
  // our own bug or an unexpected failure: never expected, never detailed to the user
  ERR_INTERNAL: {
    kind: 'FapiError',
    status: 500,
    message: 'an unexpected failure inside express-fapi (a bug: please report it)',
  },
} as const satisfies Record<string, ErrorRow>)

/** The stable error codes of request-time failures. */
export type FapiErrorCode = keyof typeof ERROR_TABLE

/** The codes carried by one error class. */
type CodesOf<K extends ErrorKind> = {
  [C in FapiErrorCode]: (typeof ERROR_TABLE)[C]['kind'] extends K ? C : never
}[FapiErrorCode]

/** The codes of {@link AuthorizationResponseError}. */
export type AuthorizationResponseErrorCode = CodesOf<'AuthorizationResponseError'>
/** The codes of {@link AuthorizationError}. */
export type AuthorizationErrorCode = CodesOf<'AuthorizationError'>
/** The codes of {@link ServerResponseError}. */
export type ServerResponseErrorCode = CodesOf<'ServerResponseError'>
/** The codes of {@link IdTokenError}. */
export type IdTokenErrorCode = CodesOf<'IdTokenError'>
/** The codes of {@link SessionError}. */
export type SessionErrorCode = CodesOf<'SessionError'>
/** The codes of {@link CoordinationError}. */
export type CoordinationErrorCode = CodesOf<'CoordinationError'>
/** The codes carried by the base class itself. */
export type GeneralErrorCode = CodesOf<'FapiError'>

/** Runs of 20 or more base64url characters (tokens, codes, keys, JWT segments) in cause messages. */
const SECRET_LIKE = /[A-Za-z0-9_-]{20,}/g

/**
 * The cause as it is kept: a new `Error` with the original's name, `code` and message (bounded,
 * with token-like runs redacted), one level of its own cause likewise; never the original object,
 * whose properties may hold a JWT payload (jose's claim errors keep it) or a response body.
 */
function safeCause(cause: unknown, depth = 0): Error | undefined {
  if (cause === undefined) return undefined
  if (!(cause instanceof Error)) return new Error(`a thrown ${typeof cause}`)
  const inner = depth === 0 ? safeCause(cause.cause, 1) : undefined
  const safe = new Error(
    printable(cause.message.replace(SECRET_LIKE, '[redacted]'), 300),
    inner === undefined ? undefined : { cause: inner },
  )
  safe.name = cause.name
  const { code } = cause as Error & { code?: unknown }
  if (typeof code === 'string')
    Object.defineProperty(safe, 'code', { value: code, enumerable: true })
  safe.stack = `${safe.name}: ${safe.message}`
  return safe
}

/**
 * A request-time failure with a stable `code` and the HTTP `status` of its row in
 * {@link ERROR_TABLE}. Catch it as {@link AnyFapiError} (see {@link isFapiError}) to narrow on
 * `code`.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (err instanceof FapiError) return res.status(err.status).json({ code: err.code })
 *   next(err)
 * })
 * ```
 */
export class FapiError<C extends FapiErrorCode = FapiErrorCode> extends Error {
  /** The stable, documented error code. */
  readonly code: C
  /** The HTTP status an error handler should answer with. */
  readonly status: number

  /**
   * @param code - the code; its row gives the status and the default message
   * @param message - what went wrong in this case; never a token, code or key
   * @param cause - the underlying failure; kept reduced (see the module's notes)
   */
  constructor(code: C, message?: string, cause?: unknown) {
    const kept = safeCause(cause)
    super(message ?? ERROR_TABLE[code].message, kept === undefined ? undefined : { cause: kept })
    this.name = new.target.name
    this.code = code
    this.status = ERROR_TABLE[code].status
  }
}

/** The callback request is not a valid authorization response for this client (HTTP 4xx). */
export class AuthorizationResponseError extends FapiError<AuthorizationResponseErrorCode> {}

/** The authorization server could not be reached, timed out, or answered something unusable. */
export class ServerResponseError extends FapiError<ServerResponseErrorCode> {}

/** The ID token failed validation (OIDC Core 3.1.3.7). */
export class IdTokenError extends FapiError<IdTokenErrorCode> {}

/** The login transaction or the session could not be used. */
export class SessionError extends FapiError<SessionErrorCode> {}

/** The coordination store (shared by several instances) could not be used (HTTP 503). */
export class CoordinationError extends FapiError<CoordinationErrorCode> {}

/**
 * The authorization server answered the authorization request with an error, for example
 * `access_denied` when the user declined consent: inside a verified JARM response, or a plain
 * response whose RFC 9207 `iss` is this issuer (`ERR_AUTHORIZATION_ERROR`, `verified: true`).
 *
 * A plain error response without `iss`, from a server that does not promise one, may come from
 * anyone (RFC 9207 §2.4): it is `ERR_AUTHORIZATION_ERROR_UNVERIFIED`, `verified: false`, with a
 * fixed message (its text is not the server's to choose). Show it, but never act on it; it
 * consumes no pending login.
 */
export class AuthorizationError extends FapiError<AuthorizationErrorCode> {
  /** The OAuth `error` value, e.g. `access_denied` (unverified: anyone may have sent it). */
  readonly error: string
  /** The server's `error_description`, if any, cut to 200 printable characters. */
  readonly errorDescription: string | undefined
  /** Whether the response is known to come from the configured issuer. */
  readonly verified: boolean
  override readonly status: number

  constructor(error: string, errorDescription: string | undefined, verified = true) {
    super(
      verified ? 'ERR_AUTHORIZATION_ERROR' : 'ERR_AUTHORIZATION_ERROR_UNVERIFIED',
      verified
        ? `the authorization server returned error "${printable(error, 64)}"`
        : 'an error response without "iss" arrived; it is not known to come from the authorization server, so it is not shown',
    )
    this.error = error
    this.errorDescription = errorDescription
    this.verified = verified
    this.status = verified && error === 'access_denied' ? 403 : ERROR_TABLE[this.code].status
  }
}

/** Any request-time error of express-fapi: narrows on `code` to its class. */
export type AnyFapiError =
  | FapiError<GeneralErrorCode>
  | AuthorizationResponseError
  | AuthorizationError
  | ServerResponseError
  | IdTokenError
  | SessionError
  | CoordinationError

/**
 * Whether a value is one of express-fapi's request-time errors, typed so that a check of `code`
 * narrows it to its class.
 *
 * @example
 * ```ts
 * if (isFapiError(err) && err.code === 'ERR_AUTHORIZATION_ERROR') console.log(err.error)
 * ```
 */
export function isFapiError(value: unknown): value is AnyFapiError {
  return value instanceof FapiError
}

/** The error of `code`, of its table row's class. For codes chosen at run time from a map. */
export function fapiError(code: FapiErrorCode, message?: string, cause?: unknown): FapiError {
  switch (ERROR_TABLE[code].kind) {
    case 'AuthorizationResponseError':
      return new AuthorizationResponseError(code as AuthorizationResponseErrorCode, message, cause)
    case 'ServerResponseError':
      return new ServerResponseError(code as ServerResponseErrorCode, message, cause)
    case 'IdTokenError':
      return new IdTokenError(code as IdTokenErrorCode, message, cause)
    case 'SessionError':
      return new SessionError(code as SessionErrorCode, message, cause)
    case 'CoordinationError':
      return new CoordinationError(code as CoordinationErrorCode, message, cause)
    default:
      return new FapiError(code, message, cause)
  }
}

/** A configuration mistake, thrown synchronously by `fapiClient()` at startup. */
export class FapiConfigError extends TypeError {
  /** Always `ERR_INVALID_CONFIG`. */
  readonly code = 'ERR_INVALID_CONFIG' as const

  constructor(message: string) {
    super(message)
    this.name = 'FapiConfigError'
  }
}

/** Printable, bounded rendition of a server-supplied string, safe for messages. */
export function printable(value: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
  return clean.length > max ? `${clean.slice(0, max)}…` : clean
}

/** Throws the startup error for an option: its name, then what is wrong and what to change. */
export function failOption(option: string, message: string): never {
  throw new FapiConfigError(`express-fapi: option "${option}" ${message}`)
}

/** Our errors pass through; anything else (a bug, a thrown non-error) becomes `ERR_INTERNAL`. */
export function toFapiError(error: unknown): FapiError {
  if (error instanceof FapiError) return error
  return new FapiError('ERR_INTERNAL', 'express-fapi failed unexpectedly', error)
}
