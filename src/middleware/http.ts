/**
 * The few request readers and response writers the middleware needs, over `node:http` types only,
 * so that the same middleware runs in Connect 3 and Express 4 and 5 (which extend these types) and
 * behaves the same whatever query parser or body parser the app configured.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** `next()` of Connect and Express. */
export type Next = (err?: unknown) => void

/**
 * A middleware over `node:http` types, usable with `app.use`/`app.get` in Express 4 and 5 and with
 * `app.use` in Connect 3.
 */
export type Middleware<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
> = (req: Req, res: Res, next: Next) => void

/** The URL as the app received it: `originalUrl` (Express, Connect) survives mounting. */
function receivedUrl(req: IncomingMessage): string {
  const { originalUrl } = req as IncomingMessage & { originalUrl?: unknown }
  return typeof originalUrl === 'string' && originalUrl !== '' ? originalUrl : (req.url ?? '/')
}

/** The path and query of the request as the app received it. */
export function requestUrl(req: IncomingMessage): string {
  return receivedUrl(req)
}

/** The query parameters exactly as sent, repeated names kept (`getAll`). */
export function queryParams(req: IncomingMessage): URLSearchParams {
  const url = receivedUrl(req)
  const index = url.indexOf('?')
  return new URLSearchParams(index === -1 ? '' : url.slice(index + 1))
}

/** The path of the request as the app received it. */
export function requestPath(req: IncomingMessage): string {
  const url = receivedUrl(req)
  const index = url.indexOf('?')
  return index === -1 ? url : url.slice(0, index)
}

/** A request header as one string (repeated headers joined as Node joins them). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()]
  return Array.isArray(value) ? value.join(', ') : value
}

interface MediaRange {
  readonly type: string
  readonly subtype: string
  readonly q: number
  readonly order: number
}

function mediaRanges(accept: string): MediaRange[] {
  const ranges: MediaRange[] = []
  for (const [order, part] of accept.split(',').entries()) {
    const [range = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase())
    const [type, subtype] = range.split('/')
    if (type === undefined || type === '' || subtype === undefined || subtype === '') continue
    let q = 1
    for (const param of params) {
      if (param.startsWith('q=')) {
        const value = Number(param.slice(2))
        q = Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0
      }
    }
    ranges.push({ type, subtype, q, order })
  }
  return ranges
}

/** How well `Accept` takes a type: quality, then specificity, then the range's place. */
function preference(ranges: readonly MediaRange[], mime: string): [number, number, number] {
  const [type, subtype] = mime.split('/')
  let best: [number, number, number] = [0, -1, 0]
  for (const range of ranges) {
    const specificity =
      range.type === type && range.subtype === subtype
        ? 2
        : range.type === type && range.subtype === '*'
          ? 1
          : range.type === '*' && range.subtype === '*'
            ? 0
            : -1
    if (specificity > best[1]) best = [range.q, specificity, -range.order]
  }
  return best
}

/**
 * Whether the client prefers JSON to HTML by its `Accept` header (as Express's
 * `req.accepts(['html', 'json']) === 'json'`): a missing header, or a tie, is HTML.
 */
export function prefersJson(req: IncomingMessage): boolean {
  const accept = header(req, 'accept')
  if (accept === undefined || accept.trim() === '') return false
  const ranges = mediaRanges(accept)
  const html = preference(ranges, 'text/html')
  const json = preference(ranges, 'application/json')
  if (json[0] <= 0) return false
  if (html[0] <= 0) return true
  for (let index = 0; index < 3; index += 1) {
    const a = json[index] as number
    const b = html[index] as number
    if (a !== b) return a > b
  }
  return false
}

/**
 * A URL made safe for the `Location` header: characters outside visible ASCII are
 * percent-encoded as UTF-8, existing escapes kept (as Express's `res.redirect` does).
 */
function locationValue(url: string): string {
  return url.replace(/[^\x21-\x7e]|["<>\\^`{|}]/gu, (char) =>
    [...Buffer.from(char, 'utf8')]
      .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  )
}

/** Sends a complete answer: status, headers and body (none for HEAD). */
export function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): void {
  const bytes = Buffer.from(body, 'utf8')
  res.statusCode = status
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.setHeader('Content-Length', String(bytes.length))
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

/** A JSON answer. */
export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  send(
    req,
    res,
    status,
    { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    JSON.stringify(value),
  )
}

/** A 303 to `url`, not cached. */
export function redirect(req: IncomingMessage, res: ServerResponse, url: string): void {
  send(
    req,
    res,
    303,
    {
      'Cache-Control': 'no-store',
      Location: locationValue(url),
      'Content-Type': 'text/plain; charset=utf-8',
    },
    'See Other',
  )
}
