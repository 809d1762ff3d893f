/**
 * `express-fapi/core`: the whole FAPI client protocol without a framework. The middleware of
 * `express-fapi` is one adapter over it; an adapter for another framework reads its request into
 * the plain data these entry points take and writes what they return.
 *
 * @example A plain node:http callback route (see docs/guides/other-frameworks.md)
 * ```ts
 * import { createFapiCore } from 'express-fapi/core'
 * const core = createFapiCore(options)
 * const outcome = await core.handleCallback(
 *   { method, path, query, header: (name) => headers[name], readBody: (limit) => readForm(req, limit) },
 *   { has: (state) => state in pending, take: async (state) => takeAndPersist(state) },
 * )
 * ```
 * @module express-fapi/core
 */
export { createFapiCore } from './client.js'
export { createFapiCores } from './server-set.js'
export type { FapiCore } from './client.js'
export type { CallbackOutcome, PendingLogins } from './flows/callback.js'
export type { CallbackRequest } from './flows/delivery.js'
export type { LoginRequest, StartedLogin } from './flows/login.js'
export type { AuthorizationParams } from './flows/login-params.js'
export type { FapiEvent, FapiEventType, TracedJwt } from '../config/events.js'
export type { Page } from './flows/page.js'
export { memoryCoordination } from './coordination/memory.js'
export { redisCoordination } from './coordination/redis.js'
export type { Coordination } from './coordination/store.js'
export { memoryGrantStore } from './grants/memory.js'
export { redisGrantStore } from './grants/redis.js'
export type { GrantQuery, GrantRecord, GrantStatus, GrantStore } from '../config/grants.js'
export type { ActiveGrant, EndedGrant, Grant, GrantTokens } from './grants/record.js'
export type { Transaction, TransactionMap } from './flows/transaction.js'
export type { IdTokenClaims } from './jwt/id-token.js'
export type { DpopKey } from './jwt/dpop.js'
export type { ResourceRequestInit } from './server/resource.js'
export type { TokenSet, TokenType } from './server/token.js'
export type { FapiClientOptions } from '../config/index.js'
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
} from '../errors.js'
export type {
  AnyFapiError,
  AuthorizationErrorCode,
  AuthorizationResponseErrorCode,
  FapiErrorCode,
  GeneralErrorCode,
  IdTokenErrorCode,
  ServerResponseErrorCode,
  SessionErrorCode,
} from '../errors.js'
// Types that the signatures above name: exported so that an adapter (and the API reference) can
// name them.
export type { ClaimedResponse, OtherServer, ServerSet } from './flows/mix-up.js'
export type { ClientToken } from './flows/client-credentials.js'
export type { RevocationOutcome } from './flows/revocation.js'
export type { PendingEntry, SealedTransaction } from './flows/transaction.js'
export type { CoordinationErrorCode } from '../errors.js'
