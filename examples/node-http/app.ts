/**
 * An adapter of `express-fapi/core` for plain `node:http`, with no framework and no
 * express-session: the shape of an adapter for any other framework (Fastify, Koa, Hono…). Sessions
 * here are a Map in memory keyed by a random cookie; a real app uses its framework's session and
 * store. Routes: `GET /login`, `GET|POST /callback` (the redirect URI's path), `GET /me`.
 *
 * Several banks: `createNodeHttpApp({ servers: { 'bank-a': optionsA, 'bank-b': optionsB } })`
 * (`GET /login?server=bank-a`, each bank's callback at its own redirect URI's path). The cores come
 * from `createFapiCores()`, so each callback refuses another bank's response (RFC 9700 §4.4).
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
// In an app: 'express-fapi/core' and 'express-fapi'.
import {
  createFapiCore,
  createFapiCores,
  isFapiError,
  type CallbackRequest,
  type FapiCore,
} from '../../src/core/index.js'
import type { FapiClientOptions } from '../../src/index.js'

interface Session {
  transactions?: unknown
  /** The grant id of the finished login (the grant itself is in the core's grant store). */
  grant?: string
  /** The bank of that grant (its name among `servers`; '' with one server). */
  server?: string
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

export function createNodeHttpApp(
  options: FapiClientOptions | { readonly servers: Readonly<Record<string, FapiClientOptions>> },
): {
  readonly core: FapiCore
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void
} {
  const cores =
    'servers' in options
      ? createFapiCores(options.servers)
      : new Map([['', createFapiCore(options)]])
  const core = [...cores.values()][0] as FapiCore
  const sessions = new Map<string, Session>()
  // Each bank's callback at its own path (one core per path).
  const callbacks = new Map([...cores].map(([name, each]) => [each.paths.callback, name]))

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
      const name = cores.size === 1 ? '' : (url.searchParams.get('server') ?? '')
      const bank = cores.get(name)
      if (bank === undefined || url.searchParams.getAll('server').length > 1) {
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'ERR_SERVER_UNKNOWN' }))
        return
      }
      if (session === undefined) [id, session] = rotate(res, undefined)
      const started = await bank.startLogin({
        returnTo: url.searchParams.getAll('returnTo'),
        transactions: session.transactions,
      })
      session.transactions = started.transactions
      res.writeHead(303, { location: started.authorizationUrl, 'cache-control': 'no-store' }).end()
      return
    }
    const bank = cores.get(callbacks.get(url.pathname) ?? '\u0000')
    if (bank !== undefined) {
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
      const outcome = await bank.handleCallback(request, {
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
      fresh.grant = (await bank.saveGrant(outcome.grant)).id
      fresh.server = callbacks.get(url.pathname) ?? ''
      res.writeHead(303, { location: outcome.returnTo, 'cache-control': 'no-store' }).end()
      return
    }
    if (url.pathname === '/me' && req.method === 'GET') {
      const login = await (cores.get(session?.server ?? '') ?? core).currentGrant(session?.grant)
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
