/**
 * Request objects by reference (RFC 9101 §5.2): the signed request object is kept under an
 * unguessable id and published at `<redirectUri's origin><requestObjectPath>/<id>`; the server
 * fetches it once, within a short lifetime, and then it is gone.
 *
 * The objects wait in a `RequestObjectStore`: this process's memory by default, a shared one
 * when several instances serve the app (the server's fetch may reach any of them).
 *
 * @module
 */
import type { RequestObjectStore } from '../../config/options.js'
import { FapiError } from '../../errors.js'
import { randomToken } from '../jwt/random.js'
import { log } from '../log.js'
import type { ClientContext } from './context.js'
import type { Page } from './page.js'

/** How long a published request object can be fetched (milliseconds), at most. */
const LIFETIME = 60_000
/** Keeps a request object for one fetch and returns its `request_uri`. */
export async function publishRequestObject(
  context: ClientContext,
  store: RequestObjectStore,
  requestObject: string,
): Promise<string> {
  const { config } = context
  const id = randomToken()
  const lifetime = Math.min(LIFETIME, config.requestObjectLifetime * 1000)
  await store.put(id, requestObject, config.now() + lifetime)
  return `${new URL(config.redirectUri).origin}${config.requestObjectPath}/${id}`
}

/**
 * Answers the server's fetch of `path` (under `requestObjectPath`): the request object, once
 * (`application/oauth-authz-req+jwt`), or `ERR_REQUEST_OBJECT_NOT_FOUND` (unknown, fetched
 * already, or expired).
 */
export async function serveRequestObject(
  context: ClientContext,
  store: RequestObjectStore,
  path: string,
): Promise<Page> {
  const { config } = context
  const prefix = `${config.requestObjectPath}/`
  const id = path.startsWith(prefix) ? path.slice(prefix.length) : ''
  const jwt = /^[A-Za-z0-9_-]{20,100}$/.test(id) ? await store.take(id, config.now()) : undefined
  if (jwt === undefined) {
    log.login('request object by reference: unknown, fetched already, or expired')
    throw new FapiError('ERR_REQUEST_OBJECT_NOT_FOUND')
  }
  log.login('request object by reference fetched')
  return {
    status: 200,
    headers: {
      'content-type': 'application/oauth-authz-req+jwt',
      'cache-control': 'no-store',
    },
    body: jwt,
  }
}
