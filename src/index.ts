/**
 * express-fapi: financial-grade OpenID Connect login for Express.
 *
 * @module
 */
export { fapiClient } from './client.js'
export type { FapiClient } from './client.js'
export type { FapiClientOptions, Profile, ResponseMode, JwsAlgorithm } from './config.js'
export type {
  ClientAuthMethod,
  EncryptionOptions,
  SenderConstraint,
  TlsOptions,
} from './options.js'
export type { SigningKeyInput } from './core/keys.js'
export type { EncryptionKeyInput, KeyManagementAlgorithm } from './core/encryption-keys.js'
export type { DpopKey } from './core/dpop.js'
export type { IdTokenClaims } from './core/id-token.js'
export type { TokenSet, TokenType } from './core/token.js'
export type { ResourceRequestInit } from './core/resource.js'
export type { FetchResource } from './express/resource.js'
export type { Refresh, RefreshResult } from './express/refresh.js'
export type { LoginHandler, LoginResult } from './express/callback.js'
export type { FapiSessionData, StoredLogin } from './express/session.js'
export { errorHandler } from './express/error-handler.js'
export {
  FapiError,
  FapiConfigError,
  AuthorizationError,
  AuthorizationResponseError,
  ServerResponseError,
  IdTokenError,
  SessionError,
} from './errors.js'
export type { FapiErrorCode } from './errors.js'
