/**
 * Authorization server metadata (OpenID Connect Discovery 1.0, RFC 8414): fetched, checked
 * against what this client needs, cached for an hour, and fetched again early when what it names
 * stops working. A failure is not cached: the next request tries again.
 *
 * @module
 */
import type { Config } from '../../config/index.js'
import { ServerResponseError } from '../../errors.js'
import { failureOf, log } from '../log.js'
import { requestJson } from '../transport/http.js'
import { checkMetadata, type ServerMetadata } from './metadata.js'

export type { ServerMetadata } from './metadata.js'

/** The metadata URL of an issuer: `/.well-known/openid-configuration` appended to its path. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
}

/** Metadata older than this is fetched again on next use (ms): an hour. */
export const DISCOVERY_MAX_AGE = 3_600_000

/** At most one refetch per this long when something the metadata names stops working (ms). */
export const DISCOVERY_RETRY_INTERVAL = 30_000

/**
 * Shared, failure-forgetting discovery for one client: fetched once, then again after
 * {@link DISCOVERY_MAX_AGE}, and when an endpoint or the keys it names stop working
 * ({@link Discovery.stale}, at most once per {@link DISCOVERY_RETRY_INTERVAL}). Every fetch is
 * shared by all concurrent callers (no thundering herd); a failed refetch keeps the metadata it
 * had. Internal.
 */
export class Discovery {
  readonly #config: Config
  #current: { readonly metadata: ServerMetadata; readonly fetchedAt: number } | undefined
  #pending: Promise<ServerMetadata> | undefined
  #staleAt = Number.NEGATIVE_INFINITY
  /** How many metadata documents were fetched; for tests and the benchmark. */
  fetches = 0

  constructor(config: Config) {
    this.#config = config
  }

  /** The checked metadata; one fetch shared by all concurrent callers. */
  get(): Promise<ServerMetadata> {
    const current = this.#current
    if (this.#pending !== undefined) return this.#pending
    if (current !== undefined && this.#config.now() - current.fetchedAt <= DISCOVERY_MAX_AGE) {
      return Promise.resolve(current.metadata)
    }
    return this.#refresh()
  }

  /**
   * Something the metadata names failed (an endpoint unreachable or answering an unexpected
   * status, no key for a kid): fetch the metadata again, at most once per retry interval; the
   * callers that come meanwhile wait for that one fetch.
   */
  stale(): void {
    const now = this.#config.now()
    if (this.#current === undefined || now - this.#staleAt < DISCOVERY_RETRY_INTERVAL) return
    this.#staleAt = now
    this.#refresh().catch(() => undefined)
  }

  #refresh(): Promise<ServerMetadata> {
    this.#pending ??= this.#load()
      .then((metadata) => {
        this.#current = { metadata, fetchedAt: this.#config.now() }
        return metadata
      })
      .catch((error: unknown) => {
        // Stale-if-error: keep serving what worked (with its age reset so that not every request
        // retries), else let the next request try again.
        const current = this.#current
        log.discovery(
          'metadata of %s unusable%s: %s',
          this.#config.issuer,
          current === undefined ? ', not cached' : ', the last good one kept',
          failureOf(error),
        )
        if (current === undefined) throw error
        this.#current = {
          metadata: current.metadata,
          fetchedAt: this.#config.now() - DISCOVERY_MAX_AGE + DISCOVERY_RETRY_INTERVAL,
        }
        return current.metadata
      })
      .finally(() => {
        this.#pending = undefined
      })
    return this.#pending
  }

  async #load(): Promise<ServerMetadata> {
    this.fetches += 1
    const { status, body } = await requestJson(
      discoveryUrl(this.#config.issuer),
      { method: 'GET' },
      this.#config,
      'discovery',
    )
    if (status !== 200)
      throw new ServerResponseError('ERR_AS_HTTP_STATUS', `discovery: HTTP ${status}`)
    const metadata = checkMetadata(body, this.#config)
    log.discovery('metadata of %s checked and cached', this.#config.issuer)
    return metadata
  }
}
