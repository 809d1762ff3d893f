/**
 * One relying-party server (one contender), in its own process: the bench measures this
 * process's CPU (`process.cpuUsage()`, all threads, libuv threadpool included) between `cpu`
 * samples taken before and after each batch, and counts the calls into its session stores.
 */
import { once } from 'node:events'
import { constants, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import connect from 'connect'
import express from 'express'
import session from 'express-session'
import { RedisStore } from 'connect-redis'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createClient, type RedisClientType } from 'redis'
import type * as Fapi from '../src/index.js'
import type { RouteContext } from './contenders/context.js'
import { announce, serve } from './lib/ipc.js'
import {
  onRedis,
  STORE_METHODS,
  type CpuSample,
  type RpStart,
  type RpStarted,
  type StoreCalls,
} from './lib/protocol.js'

const servers: Server[] = []
const stores = new Map<string, session.MemoryStore>()
/** Empties the in-memory grant store of each express-fapi app of this process. */
const grantStoreResets: Array<() => void> = []
let failures = 0

/**
 * `--slow PCT`: CPU microseconds of extra work per callback of the `-b` contender. The work is of
 * the callback's own kind (an RSA-PSS verification of a signed JSON payload, then parsing it), so
 * that a busy machine slows it as much as it slows the callback; an arithmetic loop suffered more
 * from a busy sibling hyperthread and read +19–28 % for a nominal +5 %. It is calibrated in CPU
 * time of this process (`process.cpuUsage`, which a preemption does not inflate), the cheapest of
 * several timed runs, and a fraction of one unit is carried to the next callback, so that the
 * average added work is the asked one.
 */
let slowUs = 0
let usPerUnit = 0
let carried = 0
const slowPayload = Buffer.from(JSON.stringify({ iss: 'https://as.example', sub: 'x'.repeat(64) }))
const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const
/** Made by the first `slow` call only, so that the other contenders' processes do not pay it. */
let slowKey: { publicKey: KeyObject; signature: Buffer } | undefined
let slowSink = 0

function slowUnit(): void {
  if (slowKey === undefined) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const signature = sign('sha256', slowPayload, { key: pair.privateKey, ...pss })
    slowKey = { publicKey: pair.publicKey, signature }
  }
  const ok = verify('sha256', slowPayload, { key: slowKey.publicKey, ...pss }, slowKey.signature)
  slowSink += ok ? (JSON.parse(slowPayload.toString('utf8')) as { sub: string }).sub.length : 0
}

/** CPU µs of one unit of work: the cheapest of 7 timed runs of 200 units. */
function calibrateSlow(): number {
  let best = Infinity
  for (let run = 0; run < 7; run++) {
    const start = process.cpuUsage()
    for (let i = 0; i < 200; i++) slowUnit()
    const used = process.cpuUsage(start)
    best = Math.min(best, (used.user + used.system) / 200)
  }
  return best
}

/**
 * What the slowed copy's extra work took in place, measured around each run of it (wall time of
 * a synchronous loop on the main thread: its CPU time on a quiet machine), and how many callbacks
 * it slowed. In place it costs more than calibrated (caches cold between callbacks), so the
 * ratio the bench should read is computed from this, not from the calibration.
 */
let slowSpentUs = 0
let slowedCallbacks = 0

function slowed<T extends (...args: never[]) => unknown>(handler: T): T {
  return ((...args: Parameters<T>) => {
    if (slowUs > 0) {
      carried += slowUs / usPerUnit
      const started = performance.now()
      for (; carried >= 1; carried--) slowUnit()
      slowSpentUs += (performance.now() - started) * 1000
      slowedCallbacks += 1
    }
    return handler(...args)
  }) as T
}

/** Every call express-session makes into the stores of this process, by method. */
const storeCalls: StoreCalls = { get: 0, set: 0, destroy: 0, touch: 0 }

/**
 * express-session's MemoryStore with every `get`, `set`, `destroy` and `touch` counted: the round
 * trips a networked store (Redis, a database) would make.
 */
function countingStore(): session.MemoryStore {
  const store = new session.MemoryStore()
  const methods = store as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const method of STORE_METHODS) {
    const original = methods[method]
    if (typeof original !== 'function') continue
    methods[method] = function counted(this: unknown, ...args: unknown[]) {
      storeCalls[method] += 1
      return original.apply(this, args)
    }
  }
  return store
}

/** The bench's last handler: a server-side failure is counted and answered with a 500. */
function failed(err: unknown, res: ServerResponse): void {
  failures += 1
  if (res.headersSent) {
    res.destroy()
    return
  }
  const code = (err as { code?: unknown }).code
  res.statusCode = 500
  res.setHeader('content-type', 'text/plain')
  res.end(`failed: ${String(code ?? err)}`)
}

/** A connected node-redis client of the bench's redis-server. */
async function redisClient(url: string | undefined): Promise<RedisClientType> {
  if (url === undefined) throw new Error('the -redis contenders need the bench to start redis')
  const client: RedisClientType = createClient({ url })
  client.on('error', (error: Error) => console.error(`redis: ${error.message}`))
  await client.connect()
  return client
}

/** Starts one app (one per algorithm) on a port of its own. */
async function start(options: RpStart): Promise<RpStarted> {
  const server = createServer()
  server.keepAliveTimeout = 120_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  servers.push(server)
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const store = countingStore()
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
  const { contender } = options
  // The `-redis` contenders keep sessions (and express-fapi its grants) on the bench's
  // redis-server, as several instances would: what a networked store adds to every request.
  const redis = onRedis(contender) ? await redisClient(options.redisUrl) : undefined
  const sessions = session({
    secret: 'bench-session-secret',
    resave: false,
    saveUninitialized: false,
    store:
      redis === undefined ? store : new RedisStore({ client: redis, prefix: 'bench-session:' }),
  })
  if (contender === 'login-connect' || contender === 'cb-connect') {
    // Connect 3 with express-session (itself Connect middleware), routed by path prefix.
    const { fapiRoutes } = await import('./contenders/fapi.js')
    const routes = await fapiRoutes(ctx)
    grantStoreResets.push(routes.clearGrants)
    const app = connect()
    app.use(sessions as unknown as connect.NextHandleFunction)
    app.use('/auth/login', routes.login)
    app.use('/auth/callback', routes.callback)
    app.use((err: unknown, _req: IncomingMessage, res: ServerResponse, _next: () => void) => {
      void _next
      failed(err, res)
    })
    server.on('request', app as unknown as RequestListener)
    const callbackPath = contender === 'cb-connect' ? '/auth/callback' : null
    return { origin, loginPath: '/auth/login', callbackPath, resourcePath: null }
  }
  const app = express()
  const started = (
    loginPath: string,
    callbackPath: string | null,
    resourcePath: string | null = null,
  ): RpStarted => {
    app.use((err: unknown, _req: IncomingMessage, res: ServerResponse, _next: () => void) => {
      void _next
      failed(err, res)
    })
    server.on('request', app)
    return { origin, loginPath, callbackPath, resourcePath }
  }
  // Each contender's modules are loaded only in its own process.
  if (contender === 'login-eoc') {
    const { expressOpenidConnect } = await import('./contenders/eoc.js')
    return started(await expressOpenidConnect(app, ctx), null)
  }
  app.use(sessions)
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
      grantStoreResets.push(routes.clearGrants)
      app.get('/auth/login', routes.login)
      app.all(
        '/auth/callback',
        contender === 'cb-fapi-b' ? slowed(routes.callback) : routes.callback,
      )
      return started('/auth/login', contender.startsWith('cb-') ? '/auth/callback' : null)
    }
    case 'login-fapi-signer': {
      // The same login(), its key behind an in-process async external signer.
      const { fapiRoutes } = await import('./contenders/fapi.js')
      const routes = await fapiRoutes(ctx, { signer: true })
      grantStoreResets.push(routes.clearGrants)
      app.get('/auth/login', routes.login)
      return started('/auth/login', null)
    }
    case 'auth-fapi':
    case 'auth-fapi-redis': {
      // The public API only: requiresAuth() in front, currentLogin() inside (a promise: the
      // login is read from the grant store).
      const { fapiRoutes } = await import('./contenders/fapi.js')
      const url = pathToFileURL(join(ctx.fapiSrc, 'index.ts')).href
      const { redisGrantStore } = (await import(url)) as typeof Fapi
      const { login, callback, client, clearGrants } = await fapiRoutes(
        ctx,
        redis === undefined ? {} : { grants: redisGrantStore(redis) },
      )
      // Emptied only by a reset that empties the sessions too (the page's are kept).
      grantStoreResets.push(clearGrants)
      app.get('/auth/login', login)
      app.all('/auth/callback', callback)
      const send = (res: ServerResponse & { json(body: unknown): void }, current: unknown) => {
        const claims = (current as { claims?: Record<string, unknown> } | undefined)?.claims
        if (claims === undefined) throw new Error('requiresAuth() let a stranger through')
        res.json({ sub: claims.sub })
      }
      app.get('/me', client.requiresAuth(), (req, res, next) => {
        const current: unknown = client.currentLogin(req)
        if (current instanceof Promise) {
          current.then((value) => send(res, value)).catch(next)
          return
        }
        send(res, current)
      })
      return started('/auth/login', '/auth/callback', '/me')
    }
    case 'auth-bare':
    case 'auth-bare-redis': {
      const { floorCallback } = await import('./contenders/floor.js')
      const routes = await floorCallback('node', ctx)
      app.get('/auth/login', routes.login)
      app.get('/auth/callback', routes.callback)
      app.get('/me', (req, res) => {
        const user = req.session.user
        if (user === undefined) {
          res.status(401).type('text').send('login required')
          return
        }
        res.json({ sub: user.claims.sub })
      })
      return started('/auth/login', '/auth/callback', '/me')
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
  return {
    cpuUs: user + system,
    hrUs: Number(process.hrtime.bigint() / 1000n),
    mainUs,
    mainWaitUs,
    storeCalls: { ...storeCalls },
  }
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
    /**
     * Empties the session stores (every login leaves a session behind; tens of thousands of them
     * would make each garbage collection dearer as a run goes on, and unevenly between
     * contenders), then collects the garbage, so that every measurement starts from the same
     * heap. Logged-in sessions of the `auth-*` contenders are kept.
     */
    reset: async (args) => {
      const { keep } = (args ?? {}) as { keep?: boolean }
      if (keep !== true) {
        await Promise.all(
          [...stores.values()].map(
            (store) => new Promise<void>((resolve) => store.clear(() => resolve())),
          ),
        )
        for (const clear of grantStoreResets) clear()
      }
      ;(globalThis as { gc?: () => void }).gc?.()
      return null
    },
    /** `--slow`: the extra CPU microseconds per callback of this (`-b`) process. */
    slow: (args) => {
      const { us } = args as { us: number }
      if (usPerUnit === 0) usPerUnit = calibrateSlow()
      slowUs = us
      return { us, usPerUnit, sink: slowSink > 0 }
    },
    /** `--slow`: the extra work's average cost per callback, as measured in place. */
    slowSpent: () => ({ usPerCallback: slowedCallbacks === 0 ? 0 : slowSpentUs / slowedCallbacks }),
  },
  async () => {
    for (const server of servers) {
      server.closeAllConnections()
      server.close()
    }
  },
)
announce({})
