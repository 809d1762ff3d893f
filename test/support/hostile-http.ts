/**
 * The HTTP side of the hostile server: bounded form bodies, and replies that can be delayed, hung,
 * reset, or streamed without end.
 */
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose'

const MAX_BODY = 256 << 10
const MAX_DELAY = 30_000

export /** What an endpoint answers; every field can be rewritten by a test. */
interface Reply {
  status: number
  body?: Record<string, unknown>
  /** Sent instead of `body` when set. */
  raw?: string
  contentType?: string
  headers?: Record<string, string>
  /** Milliseconds to wait before answering (bounded by close()). */
  delayMs?: number
  /** Never answer; the connection stays open until close(). */
  hang?: boolean
  /**
   * Answer only once this settles (or close() is called); the request counts as held for
   * `held()` meanwhile: a test releases it when it has seen what it waits for, no clock involved.
   */
  holdUntil?: Promise<unknown>
  /** Reset the connection without an answer. */
  destroy?: boolean
  /** Send this many bytes of JSON-looking filler, chunked, without a content-length. */
  streamBytes?: number
}

/** A form body of at most 256 KiB, or undefined when it is larger. */
export function readBody(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) resolve(undefined)
      else chunks.push(chunk)
    })
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))))
    req.on('error', reject)
  })
}

export function oauthError(status: number, error: string, description: string): Reply {
  return { status, body: { error, error_description: description } }
}

/** Sends a reply; a delay ends early when `closing` aborts. */
export async function send(res: ServerResponse, reply: Reply, closing: AbortSignal): Promise<void> {
  if (reply.destroy) return void res.socket?.destroy()
  if (reply.hang) return
  if (reply.holdUntil !== undefined) {
    const closed = new Promise((resolve) => {
      if (closing.aborted) resolve(undefined)
      closing.addEventListener('abort', resolve, { once: true })
    })
    await Promise.race([reply.holdUntil, closed])
    if (closing.aborted) return
  }
  if (reply.delayMs !== undefined) {
    await sleep(Math.min(reply.delayMs, MAX_DELAY), undefined, { signal: closing }).catch(
      () => undefined,
    )
    if (closing.aborted) return
  }
  const headers = { 'content-type': reply.contentType ?? 'application/json', ...reply.headers }
  if (reply.streamBytes !== undefined) {
    res.writeHead(reply.status, headers)
    const chunk = Buffer.alloc(16 << 10, 'x')
    res.write('{"filler":"')
    for (let sent = 0; sent < reply.streamBytes && !res.destroyed; sent += chunk.length) {
      if (!res.write(chunk)) {
        // One pair of listeners per wait, removed after it: the loser of the race would stay
        // attached otherwise, and a long stream piles them up (MaxListenersExceededWarning).
        const waited = new AbortController()
        await Promise.race([
          once(res, 'drain', { signal: waited.signal }),
          once(res, 'close', { signal: waited.signal }),
        ]).catch(() => undefined)
        waited.abort()
      }
    }
    if (!res.destroyed) res.end('"}')
    return
  }
  const text = reply.raw ?? JSON.stringify(reply.body ?? {})
  res.writeHead(reply.status, { ...headers, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Verifies a JWT with a JWKS, for tests that check what the client signed. */
export async function verifyWith(jwt: string, jwks: { keys: JWK[] }): Promise<JWTPayload> {
  return (await jwtVerify(jwt, createLocalJWKSet(jwks))).payload
}
