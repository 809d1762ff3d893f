/**
 * express-fapi: financial-grade OpenID Connect login for Express.
 *
 * @module express-fapi
 */
export { fapiClient } from './client.js'
export { fapiClients } from './clients.js'
export type { FapiClients, FapiClientsOptions } from './clients.js'
export type { ServerResolver } from './resolved-servers.js'
export type { ServerSelector } from './middleware/servers.js'
export type { FapiClient, ClientCredentialsToken, GrantHandle } from './client.js'
export type { ClientCredentialsRequest } from './core/flows/client-credentials.js'
export type { AuthorizationDetail } from './core/server/authorization-details.js'
export type { FapiClientOptions, Profile, ResponseMode, JwsAlgorithm } from './config/index.js'
export type {
  ClientAuthMethod,
  EncryptionOptions,
  SenderConstraint,
  TlsOptions,
} from './config/options.js'
export type { SigningKeyInput } from './config/keys.js'
export type { KeyState } from './config/options.js'
export type { ExternalSigner, ExternalSignerAlgorithm } from './config/signer.js'
export { derToJose } from './core/jwt/ecdsa-der.js'
export type { EcdsaAlgorithm } from './core/jwt/ecdsa-der.js'
export type { EncryptionKeyInput, KeyManagementAlgorithm } from './config/encryption-keys.js'
export type { DpopKey } from './core/jwt/dpop.js'
export type { IdTokenClaims } from './core/jwt/id-token.js'
export type { TokenSet, TokenType } from './core/server/token.js'
export type { ResourceRequestInit } from './core/server/resource.js'
export type { FetchResource } from './middleware/resource.js'
export type { Refresh, RefreshResult } from './middleware/refresh.js'
export type {
  BeforeSessionDecision,
  CallbackOptions,
  LoginHandler,
  LoginResult,
} from './middleware/callback.js'
export type { LoginOptions, StartLoginOptions } from './middleware/login.js'
export type { RequiresAuthOptions } from './middleware/guards.js'
export type { RouterPaths } from './middleware/router.js'
export type { FapiEvent, FapiEventType, TracedJwt } from './config/events.js'
export type { AuthorizationParams } from './core/flows/login-params.js'
export type { FapiSessionData } from './middleware/session.js'
export { memoryCoordination } from './core/coordination/memory.js'
export type { MemoryCoordinationOptions } from './core/coordination/memory.js'
export { redisCoordination } from './core/coordination/redis.js'
export type { RedisCommandClient, RedisCoordinationOptions } from './core/coordination/redis.js'
export type { Coordination, SessionSecretKey, SessionSecretsOptions } from './config/index.js'
export { fapiRegistration } from './registration.js'
export type { FapiRegistration, FapiRegistrationOptions } from './registration.js'
export { memoryRegistrations } from './core/registration/store.js'
export type { Registration, RegistrationStore } from './core/registration/store.js'
export { redisRegistrations } from './core/registration/redis.js'
export type { RedisRegistrationsOptions } from './core/registration/redis.js'
export { memoryGrantStore } from './core/grants/memory.js'
export type { MemoryGrantStoreOptions } from './core/grants/memory.js'
export { redisGrantStore } from './core/grants/redis.js'
export type { RedisGrantStoreOptions } from './core/grants/redis.js'
export type { GrantQuery, GrantRecord, GrantStatus, GrantStore } from './config/grants.js'
export type { ActiveGrant, EndedGrant, Grant, GrantTokens } from './core/grants/record.js'
export { errorHandler } from './middleware/error-handler.js'
export {
  CoordinationError,
  FapiError,
  FapiConfigError,
  AuthorizationError,
  AuthorizationResponseError,
  ServerResponseError,
  IdTokenError,
  SessionError,
  isFapiError,
  ERROR_TABLE,
} from './errors.js'
export type {
  AnyFapiError,
  AuthorizationErrorCode,
  AuthorizationResponseErrorCode,
  FapiErrorCode,
  GeneralErrorCode,
  IdTokenErrorCode,
  ServerResponseErrorCode,
  SessionErrorCode,
} from './errors.js'
// Types that the signatures above name: exported so that an app (and the API reference) can name them.
export type { Middleware, Next } from './middleware/http.js'
export type { ErrorMiddleware } from './middleware/error-handler.js'
export type {
  AuthorizationDetailObject,
  ClientAssertionAudience,
  RequestObjectStore,
} from './config/options.js'
export type { CoordinationErrorCode } from './errors.js'
export type { HttpTimer } from './config/options.js'
export type { StartupCheck } from './middleware/startup-check.js'
