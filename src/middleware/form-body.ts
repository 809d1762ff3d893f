/**
 * The callback's own reading of a form-encoded POST body, with a size cap and a content-type check,
 * so that it does not depend on (or get confused by) whatever body parser the app mounted.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import { AuthorizationResponseError } from '../errors.js'

/** Reads `application/x-www-form-urlencoded` parameters of at most `limit` bytes. */
export async function readFormBody(req: IncomingMessage, limit: number): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    throw new AuthorizationResponseError(
      'ERR_CALLBACK_CONTENT_TYPE',
      'the callback accepts only application/x-www-form-urlencoded bodies',
    )
  }
  const parsed: unknown = (req as IncomingMessage & { body?: unknown }).body
  // body-parser marks a parsed request with `_body`; a drained stream has `readableEnded`.
  if (req.readableEnded || (req as IncomingMessage & { _body?: unknown })._body === true) {
    // A body parser of the app consumed the stream already: take its result, as untrusted data.
    const params = new URLSearchParams()
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [name, value] of Object.entries(parsed)) {
        for (const item of Array.isArray(value) ? value : [value]) {
          params.append(name, typeof item === 'string' ? item : '[object]')
        }
      }
    }
    return params
  }
  const tooLarge = () =>
    new AuthorizationResponseError(
      'ERR_CALLBACK_BODY_TOO_LARGE',
      `the callback body is over ${limit} bytes`,
    )
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    req.resume()
    throw tooLarge()
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        req.resume() // drain the rest, so that the error response can still be sent
        reject(tooLarge())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(Buffer.concat(chunks, size))
    }
    const onError = (cause: Error) => {
      cleanup()
      reject(
        new AuthorizationResponseError(
          'ERR_CALLBACK_MALFORMED',
          'the callback body could not be read',
          cause,
        ),
      )
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
  return new URLSearchParams(body.toString('utf8'))
}
