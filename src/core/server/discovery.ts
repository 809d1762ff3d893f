/**
 * Authorization server metadata (OpenID Connect Discovery 1.0, RFC 8414): fetched once, checked
 * against what this client needs, cached. A failure is not cached: the next request tries again.
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

/** Fetched-once, shared, failure-forgetting discovery for one client. Internal. */
export class Discovery {
  readonly #config: Config
  #pending: Promise<ServerMetadata> | undefined
  /** How many metadata documents were fetched; for tests and the benchmark. */
  fetches = 0

  constructor(config: Config) {
    this.#config = config
  }

  /** The checked metadata; one fetch shared by all concurrent callers. */
  get(): Promise<ServerMetadata> {
    this.#pending ??= this.#load().catch((error: unknown) => {
      log.discovery(
        'metadata of %s unusable, not cached: %s',
        this.#config.issuer,
        failureOf(error),
      )
      this.#pending = undefined
      throw error
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
