/**
 * An adapter of `express-fapi/core` for plain `node:http`, with no framework and no
 * express-session: the shape of an adapter for any other framework (Fastify, Koa, Hono…). Sessions
 * here are a Map in memory keyed by a random cookie; a real app uses its framework's session and
 * store. Routes: `GET /login`, `GET|POST /callback` (the redirect URI's path), `GET /me`.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
// In an app: 'express-fapi/core' and 'express-fapi'.
import {
  createFapiCore,
  isFapiError,
  type CallbackRequest,
  type FapiCore,
} from '../../src/core/index.js'
import type { FapiClientOptions } from '../../src/index.js'

interface Session {
  transactions?: unknown
  /** The grant id of the finished login (the grant itself is in the core's grant store). */
  grant?: string
}

/** The request's session id from its cookie, if any. */
function sessionId(req: IncomingMessage): string | undefined {
  return /(?:^|;\s*)sid=([A-Za-z0-9_-]{43})(?:;|$)/.exec(req.headers.cookie ?? '')?.[1]
}

/** Reads a urlencoded body of at most `limit` bytes (the core says how much it accepts). */
async function readForm(req: IncomingMessage, limit: number): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new RangeError('body too large')
    chunks.push(chunk as Buffer)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

export function createNodeHttpApp(options: FapiClientOptions): {
  readonly core: FapiCore
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void
} {
  const core = createFapiCore(options)
  const sessions = new Map<string, Session>()
  const callbackPath = new URL(options.redirectUri).pathname

  /** A new session id: the old session's content moves there (no fixation after login). */
  function rotate(res: ServerResponse, from: string | undefined): [string, Session] {
    const id = randomBytes(32).toString('base64url')
    const session: Session = from === undefined ? {} : { ...sessions.get(from) }
    if (from !== undefined) sessions.delete(from)
    sessions.set(id, session)
    res.setHeader('set-cookie', `sid=${id}; Path=/; HttpOnly; SameSite=Lax`)
    return [id, session]
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://app.invalid')
    let id = sessionId(req)
    let session = id === undefined ? undefined : sessions.get(id)
    if (url.pathname === '/login' && req.method === 'GET') {
      if (session === undefined) [id, session] = rotate(res, undefined)
      const started = await core.startLogin({
        returnTo: url.searchParams.getAll('returnTo'),
        transactions: session.transactions,
      })
      session.transactions = started.transactions
      res.writeHead(303, { location: started.authorizationUrl, 'cache-control': 'no-store' }).end()
      return
    }
    if (url.pathname === callbackPath) {
      const current = session ?? {}
      const request: CallbackRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        header: (name) => {
          const value = req.headers[name]
          return Array.isArray(value) ? value.join(', ') : value
        },
        readBody: (limit) => readForm(req, limit),
      }
      const outcome = await core.handleCallback(request, {
        has: (state) => Object.hasOwn((current.transactions ?? {}) as object, state),
        async take(state) {
          const pending = (current.transactions ?? {}) as Record<string, unknown>
          const { [state]: taken, ...rest } = pending
          // The Map is the store: this is the single-use write, before the code is redeemed.
          current.transactions = rest
          return taken
        },
      })
      if (outcome.kind === 'page') {
        res.writeHead(outcome.page.status, outcome.page.headers).end(outcome.page.body)
        return
      }
      const [, fresh] = rotate(res, id)
      fresh.grant = (await core.saveGrant(outcome.grant)).id
      res.writeHead(303, { location: outcome.returnTo, 'cache-control': 'no-store' }).end()
      return
    }
    if (url.pathname === '/me' && req.method === 'GET') {
      const login = await core.currentGrant(session?.grant)
      res.writeHead(login === undefined ? 401 : 200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify(
          login === undefined ? { error: 'ERR_LOGIN_REQUIRED' } : { sub: login.claims.sub },
        ),
      )
      return
    }
    res.writeHead(404).end()
  }

  return {
    core,
    listener(req, res) {
      handle(req, res).catch((error: unknown) => {
        // Every rejection of the core is a FapiError with a code and a status; never a stack trace.
        const status = isFapiError(error) ? error.status : 500
        const body = isFapiError(error)
          ? { error: error.code, message: error.message }
          : { error: 'ERR_INTERNAL', message: 'internal error' }
        if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      })
    },
  }
}
