/**
 * One relying-party server (one contender), in its own process: the bench measures this
 * process's CPU (`process.cpuUsage()`, all threads, libuv threadpool included) between `cpu`
 * samples taken before and after each batch.
 */
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from 'express-session'
import type { RouteContext } from './contenders/context.js'
import { announce, serve } from './lib/ipc.js'
import type { CpuSample, RpStart, RpStarted } from './lib/protocol.js'

const servers: Server[] = []
const stores = new Map<string, session.MemoryStore>()
let failures = 0

/** Starts one app (one per algorithm) on a port of its own. */
async function start(options: RpStart): Promise<RpStarted> {
  const server = createServer()
  server.keepAliveTimeout = 120_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  servers.push(server)
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const store = new session.MemoryStore()
  stores.set(origin, store)
  const ctx: RouteContext = {
    alg: options.alg,
    issuer: options.issuer,
    clientId: options.clientId,
    privateJwk: options.privateJwk,
    origin,
    redirectUri: `${origin}/auth/callback`,
    fapiSrc: options.fapiSrc,
  }
  const app = express()
  const started = (loginPath: string, callbackPath: string | null): RpStarted => {
    app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
      failures += 1
      if (res.headersSent) {
        next(err)
        return
      }
      const code = (err as { code?: unknown }).code
      res
        .status(500)
        .type('text')
        .send(`failed: ${String(code ?? err)}`)
    })
    server.on('request', app)
    return { origin, loginPath, callbackPath }
  }
  const { contender } = options
  // Each contender's modules are loaded only in its own process.
  if (contender === 'login-eoc') {
    const { expressOpenidConnect } = await import('./contenders/eoc.js')
    return started(await expressOpenidConnect(app, ctx), null)
  }
  app.use(
    session({
      secret: 'bench-session-secret',
      resave: false,
      saveUninitialized: false,
      store,
    }),
  )
  switch (contender) {
    case 'login-nosig':
    case 'login-node':
    case 'login-jose': {
      const { floorLogin } = await import('./contenders/floor.js')
      const kind =
        contender === 'login-nosig' ? 'none' : contender === 'login-node' ? 'node' : 'jose'
      app.get('/auth/login', (await floorLogin(kind, ctx)).handler)
      return started('/auth/login', null)
    }
    case 'login-oc': {
      const { openidClientLogin } = await import('./contenders/openid-client.js')
      app.get('/auth/login', await openidClientLogin(ctx))
      return started('/auth/login', null)
    }
    case 'login-fapi':
    case 'login-fapi-b':
    case 'cb-fapi':
    case 'cb-fapi-b': {
      const { fapiRoutes } = await import('./contenders/fapi.js')
      const routes = await fapiRoutes(ctx)
      app.get('/auth/login', routes.login)
      app.all('/auth/callback', routes.callback)
      return started('/auth/login', contender.startsWith('cb-') ? '/auth/callback' : null)
    }
    case 'cb-node':
    case 'cb-jose': {
      const { floorCallback } = await import('./contenders/floor.js')
      const routes = await floorCallback(contender === 'cb-node' ? 'node' : 'jose', ctx)
      app.get('/auth/login', routes.login)
      app.get('/auth/callback', routes.callback)
      return started('/auth/login', '/auth/callback')
    }
  }
}

/** The main thread's time on a CPU and waiting for one, from Linux's schedstat (else NaN). */
function mainThread(): [number, number] {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')
    return [Number(run) / 1000, Number(wait) / 1000]
  } catch {
    return [Number.NaN, Number.NaN]
  }
}

function cpu(): CpuSample {
  const { user, system } = process.cpuUsage()
  const [mainUs, mainWaitUs] = mainThread()
  return { cpuUs: user + system, hrUs: Number(process.hrtime.bigint() / 1000n), mainUs, mainWaitUs }
}

serve(
  {
    start: (args) => start(args as RpStart),
    cpu,
    /** The JSON express-session's MemoryStore keeps for a session id, or null. */
    session: (args) =>
      new Promise((resolve, reject) => {
        const { origin, sid } = args as { origin: string; sid: string }
        const store = stores.get(origin)
        if (store === undefined) throw new Error(`no app at ${origin}`)
        store.get(sid, (error, data) =>
          error
            ? reject(error as Error)
            : resolve(data === undefined || data === null ? null : JSON.stringify(data)),
        )
      }),
    failures: () => failures,
  },
  async () => {
    for (const server of servers) {
      server.closeAllConnections()
      server.close()
    }
  },
)
announce({})
