/**
 * What the flows of one client share: the frozen configuration, the server's discovery and JWKS,
 * the coordination store (consumed states, refreshes, logouts) and the DPoP nonces; and the option sets derived from it that several
 * flows use.
 *
 * @module
 */
import type { Config, JwsAlgorithm } from '../../config/index.js'
import { usesClientCertificate } from '../server/client-auth.js'
import { Discovery } from '../server/discovery.js'
import { DpopNonces, type DpopKey } from '../jwt/dpop.js'
import { RemoteJwks } from '../server/jwks.js'
import type { ServerJwtContext } from '../jwt/jws.js'
import type { DpopContext, OAuthPostOptions } from '../transport/oauth-post.js'
import { memoryCoordination } from '../coordination/memory.js'
import type { Coordination } from '../coordination/store.js'
import type { GrantStore } from '../../config/grants.js'
import { memoryGrantStore } from '../grants/memory.js'
import type { RequestObjectStore } from '../../config/options.js'
import { MemoryRequestObjectStore } from './request-object-store.js'

/** What the flows share for one client. Internal. */
export interface ClientContext {
  readonly config: Config
  readonly discovery: Discovery
  readonly jwks: RemoteJwks
  /** The store several instances share (in memory for one process by default). */
  readonly coordination: Coordination
  /** The servers' DPoP nonces, by (this client's server, origin) (RFC 9449 §8, §9). */
  readonly nonces: DpopNonces
  /** Request objects by reference waiting for the server's fetch (RFC 9101 §5.2). */
  readonly requestObjects: RequestObjectStore
  /** Where finished logins live (in memory for one process by default). */
  readonly grants: GrantStore
}

/** DPoP for calls made with a login's key, if it has one. */
export function dpopContext(
  context: ClientContext,
  key: DpopKey | undefined,
): DpopContext | undefined {
  return key === undefined ? undefined : { key, nonces: context.nonces, now: context.config.now }
}

/** What every JWT from the server is checked against (JARM responses, ID tokens). */
export function serverJwtContext(
  context: ClientContext,
  algorithms: readonly JwsAlgorithm[],
): ServerJwtContext {
  const { config } = context
  return {
    issuer: config.issuer,
    clientId: config.clientId,
    algorithms,
    clockTolerance: config.clockTolerance,
    now: config.now(),
    jwks: context.jwks,
  }
}

/** Options of a token-endpoint call (code or refresh grant) made for a login. */
export function tokenEndpointOptions(
  context: ClientContext,
  dpopKey: DpopKey | undefined,
  requestedScope: string,
): OAuthPostOptions & { requestedScope: string; now: () => number } {
  const { config } = context
  return {
    httpTimeout: config.httpTimeout,
    maxResponseBytes: config.maxResponseBytes,
    agents: config.agents,
    httpTimer: config.httpTimer,
    dpop: dpopContext(context, dpopKey),
    // RFC 8705: the certificate authenticates the client, or binds the tokens, or both.
    clientCertificate:
      usesClientCertificate(config.clientAuthMethod) || config.senderConstraint === 'mtls',
    requestedScope,
    now: config.now,
  }
}

/** The shared state of a client, made once from its configuration. */
export function createClientContext(config: Config): ClientContext {
  const discovery = new Discovery(config)
  const coordination = config.coordination ?? memoryCoordination({ now: config.now })
  return {
    config,
    discovery,
    jwks: new RemoteJwks(async () => (await discovery.get()).jwksUri, config),
    coordination,
    nonces: new DpopNonces(config.coordination, undefined, config.issuer),
    requestObjects: config.requestObjectStore ?? new MemoryRequestObjectStore(config.now),
    grants: config.grants ?? memoryGrantStore({ now: config.now }),
  }
}
