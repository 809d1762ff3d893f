/**
 * Starting the bench's processes and driving measured batches through them: a batch is
 * bracketed by CPU samples taken inside the server process and by request counts taken at the
 * authorization server.
 */
import { Child } from './ipc.js'
import { decodePayload, type Alg, type PrivateJwk } from './jwt-node.js'
import { LoadClient, cookieOf, type BenchRequest, type BenchResponse } from './load.js'
import { loadBetween, sampleLoad, type Load } from './machine.js'
import {
  countsDelta,
  type Contender,
  type CpuSample,
  type MintItem,
  type PathCounts,
  type RpStarted,
  type StoreCalls,
} from './protocol.js'

const AS_SCRIPT = new URL('../as-server.ts', import.meta.url)
const RP_SCRIPT = new URL('../rp-server.ts', import.meta.url)

/** Every child started by this process, so that all can be stopped at the end or on Ctrl-C. */
export const children = new Set<Child>()

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop()))
  children.clear()
}

/** The pids of the bench's own processes: this one and its children. */
export function benchPids(): number[] {
  const pids = [process.pid]
  for (const child of children) if (child.pid !== undefined) pids.push(child.pid)
  return pids
}

export function killAll(): void {
  for (const child of children) child.kill()
  children.clear()
}

export interface AuthorizationServer {
  readonly child: Child
  readonly issuer: string
}

export async function startAuthorizationServer(): Promise<AuthorizationServer> {
  const child = Child.start('authorization server', AS_SCRIPT)
  children.add(child)
  const { issuer } = await child.ready<{ issuer: string }>()
  return { child, issuer }
}

/** The process of one contender; it serves one app per algorithm. */
export interface RpProcess {
  readonly contender: Contender
  readonly child: Child
}

export async function startRpProcess(
  contender: Contender,
  nodeFlags: string[] = [],
): Promise<RpProcess> {
  // --expose-gc: `reset` collects the garbage before each measurement.
  const child = Child.start(contender, RP_SCRIPT, [], ['--expose-gc', ...nodeFlags])
  children.add(child)
  await child.ready()
  return { contender, child }
}

/** A running contender app and a keep-alive client for it. */
export interface RelyingParty extends RpProcess {
  readonly started: RpStarted
  readonly load: LoadClient
}

export interface AppOptions {
  readonly alg: Alg
  readonly issuer: string
  readonly clientId: string
  readonly privateJwk: PrivateJwk
  readonly fapiSrc: string
  readonly concurrency: number
  /** The redis-server of the `-redis` contenders. */
  readonly redisUrl?: string
}

export async function startApp(rp: RpProcess, options: AppOptions): Promise<RelyingParty> {
  const started = await rp.child.call<RpStarted>('start', { contender: rp.contender, ...options })
  return { ...rp, started, load: new LoadClient(started.origin, options.concurrency) }
}

function check(
  responses: readonly BenchResponse[],
  what: string,
  ok: (r: BenchResponse) => boolean,
) {
  const bad = responses.find((response) => !ok(response))
  if (bad !== undefined) {
    throw new Error(`${what}: HTTP ${bad.status} ${bad.location} ${bad.body.slice(0, 300)}`)
  }
}

const isLoginRedirect = (r: BenchResponse) =>
  (r.status === 302 || r.status === 303) && r.location.includes('request=')

/** `n` logins, each from a new browser (no cookie). */
export async function logins(rp: RelyingParty, n: number, concurrency: number) {
  const requests = Array.from({ length: n }, () => ({ path: rp.started.loginPath }))
  const batch = await rp.load.batch(requests, concurrency)
  check(batch.responses, `${rp.contender} login`, isLoginRedirect)
  return batch
}

/** One measured batch. */
export interface Measured {
  readonly n: number
  readonly cpuUsPerReq: number
  /** Of which the main thread (the rest: threadpool crypto, GC and compiler threads). */
  readonly mainUsPerReq: number
  /** Microseconds per request the main thread was runnable but had no CPU (contention). */
  readonly mainWaitUsPerReq: number
  readonly rps: number
  /** Authorization server requests during the batch, by path. */
  readonly asCalls: PathCounts
  /** Session store calls during the batch, by method (totals, not per request). */
  readonly storeCalls: StoreCalls
  /** The batch's window on the `process.hrtime` clock of the server, in microseconds. */
  readonly window: readonly [number, number]
  /** The machine's load during the batch: other processes' CPU, in cores, and the load average. */
  readonly load: Load
  /** An interleaved measurement's CPU µs/req in each of its slices, in order. */
  readonly slices?: readonly number[]
}

async function measure(
  rp: RelyingParty,
  as: AuthorizationServer,
  n: number,
  run: () => Promise<{ wallMs: number }>,
): Promise<Measured> {
  const asBefore = await as.child.call<PathCounts>('counts')
  const loadBefore = sampleLoad(benchPids())
  const before = await rp.child.call<CpuSample>('cpu')
  const { wallMs } = await run()
  const after = await rp.child.call<CpuSample>('cpu')
  const load = loadBetween(loadBefore, sampleLoad(benchPids()))
  const asAfter = await as.child.call<PathCounts>('counts')
  return {
    n,
    cpuUsPerReq: (after.cpuUs - before.cpuUs) / n,
    mainUsPerReq: (after.mainUs - before.mainUs) / n,
    mainWaitUsPerReq: (after.mainWaitUs - before.mainWaitUs) / n,
    rps: (n * 1000) / wallMs,
    asCalls: countsDelta(asBefore, asAfter),
    storeCalls: {
      get: after.storeCalls.get - before.storeCalls.get,
      set: after.storeCalls.set - before.storeCalls.set,
      destroy: after.storeCalls.destroy - before.storeCalls.destroy,
      touch: after.storeCalls.touch - before.storeCalls.touch,
    },
    window: [before.hrUs, after.hrUs],
    load,
  }
}

export function measureLogins(
  rp: RelyingParty,
  as: AuthorizationServer,
  n: number,
  concurrency: number,
): Promise<Measured> {
  return measure(rp, as, n, () => logins(rp, n, concurrency))
}

/**
 * Pending logins for callbacks: `n` logins through the contender's own login route (each a new
 * session), the state, nonce and challenge read from the request object in the redirect, and a
 * JARM response minted for each by the authorization server. Not measured.
 */
export async function prepareCallbacks(
  rp: RelyingParty,
  as: AuthorizationServer,
  n: number,
  concurrency: number,
  mint: { alg: Alg; clientId: string },
): Promise<BenchRequest[]> {
  const { responses } = await logins(rp, n, concurrency)
  const pending = responses.map((response) => {
    const location = new URL(response.location)
    const claims = decodePayload(location.searchParams.get('request') ?? '')
    const cookie = cookieOf(response, 'connect.sid')
    if (cookie === undefined) throw new Error(`${rp.contender}: login set no session cookie`)
    const item: MintItem = {
      state: String(claims.state),
      nonce: String(claims.nonce),
      codeChallenge: String(claims.code_challenge),
      redirectUri: String(claims.redirect_uri),
      clientId: mint.clientId,
      alg: mint.alg,
    }
    return { cookie, item }
  })
  const minted = await as.child.call<string[]>(
    'mint',
    pending.map((entry) => entry.item),
  )
  const path = rp.started.callbackPath
  if (path === null) throw new Error(`${rp.contender} has no callback`)
  return pending.map((entry, index) => ({
    path: `${path}?response=${minted[index] ?? ''}`,
    cookie: entry.cookie,
  }))
}

/** Sends prepared callbacks; every one must end in a 303 to the return address. */
export async function callbacks(
  rp: RelyingParty,
  requests: readonly BenchRequest[],
  concurrency: number,
) {
  const batch = await rp.load.batch(requests, concurrency)
  check(batch.responses, `${rp.contender} callback`, (r) => r.status === 303 && r.location === '/')
  return batch
}

export function measureCallbacks(
  rp: RelyingParty,
  as: AuthorizationServer,
  requests: readonly BenchRequest[],
  concurrency: number,
): Promise<Measured> {
  return measure(rp, as, requests.length, () => callbacks(rp, requests, concurrency))
}

/**
 * Logged-in sessions for the `auth-*` contenders: `n` real logins and callbacks through the
 * contender's own routes (against the bench's authorization server), the session cookie each
 * callback leaves. Not measured.
 */
export async function prepareLoggedIn(
  rp: RelyingParty,
  as: AuthorizationServer,
  n: number,
  concurrency: number,
  mint: { alg: Alg; clientId: string },
): Promise<string[]> {
  const prepared = await prepareCallbacks(rp, as, n, concurrency, mint)
  const { responses } = await callbacks(rp, prepared, concurrency)
  return responses.map((response, index) => {
    const cookie = cookieOf(response, 'connect.sid') ?? prepared[index]?.cookie
    if (cookie === undefined) throw new Error(`${rp.contender}: no session cookie after the login`)
    return cookie
  })
}

/** `n` requests to the page behind the login, cycling over the logged-in sessions; all 200. */
export async function pages(
  rp: RelyingParty,
  cookies: readonly string[],
  n: number,
  concurrency: number,
) {
  const path = rp.started.resourcePath
  if (path === null) throw new Error(`${rp.contender} has no page behind a login`)
  if (cookies.length === 0) throw new Error(`${rp.contender}: no logged-in session`)
  const requests = Array.from({ length: n }, (_, i) => ({
    path,
    cookie: cookies[i % cookies.length]!,
  }))
  const batch = await rp.load.batch(requests, concurrency)
  check(
    batch.responses,
    `${rp.contender} page`,
    (r) => r.status === 200 && r.body.includes('"sub"'),
  )
  return batch
}

/** One side of a measurement of two contenders at once. */
export interface Side {
  readonly rp: RelyingParty
  readonly kind: 'login' | 'callback' | 'page'
  readonly requests: readonly BenchRequest[]
}

/**
 * Two contenders measured finely interleaved: each side's requests are cut into `chunks` slices,
 * run alone one after the other in the order A B B A A B B A … (so that a steady drift of the
 * machine's speed weighs on both alike), each slice bracketed by CPU samples of its server. The
 * result of a side is its CPU over all its slices, per request.
 */
export async function measureInterleaved(
  as: AuthorizationServer,
  sides: readonly [Side, Side],
  concurrency: number,
  chunks: number,
): Promise<[Measured, Measured]> {
  const slices = sides.map((side) => {
    const size = Math.ceil(side.requests.length / chunks)
    return Array.from({ length: chunks }, (_, i) =>
      side.requests.slice(i * size, (i + 1) * size),
    ).filter((slice) => slice.length > 0)
  })
  const parts: [Measured[], Measured[]] = [[], []]
  const steps = Math.max(slices[0]!.length, slices[1]!.length)
  for (let i = 0; i < steps; i++) {
    const order: Array<0 | 1> = i % 2 === 0 ? [0, 1] : [1, 0]
    for (const s of order) {
      const slice = slices[s]![i]
      if (slice === undefined) continue
      const side = sides[s]
      const ok = (responses: readonly BenchResponse[]) => {
        const what = `${side.rp.contender} ${side.kind}`
        if (side.kind === 'page') {
          check(responses, what, (r) => r.status === 200 && r.body.includes('"sub"'))
        } else if (side.kind === 'callback') {
          check(responses, what, (r) => r.status === 303 && r.location === '/')
        } else {
          check(responses, what, isLoginRedirect)
        }
      }
      parts[s].push(
        await measure(side.rp, as, slice.length, async () => {
          const batch = await side.rp.load.batch(slice, concurrency)
          ok(batch.responses)
          return batch
        }),
      )
    }
  }
  return [combine(parts[0]), combine(parts[1])]
}

/**
 * The low estimate of a side's CPU/req: the second-lowest of its slices. Other processes only
 * ever add to a slice's CPU (cold caches, a busy sibling hyperthread), never take from it, so the
 * slices least disturbed are the closest to the code's own cost; the second-lowest rather than
 * the lowest, so that one lucky slice (one without a scavenge) does not decide.
 */
export function lowOf(m: Measured): number {
  const sorted = [...(m.slices ?? [m.cpuUsPerReq])].sort((a, b) => a - b)
  return sorted[Math.min(1, sorted.length - 1)] ?? m.cpuUsPerReq
}

/** Several measured slices of one contender as one measurement. */
function combine(parts: readonly Measured[]): Measured {
  const n = parts.reduce((sum, m) => sum + m.n, 0)
  const total = (pick: (m: Measured) => number) =>
    parts.reduce((sum, m) => sum + pick(m) * m.n, 0) / n
  const asCalls: PathCounts = {}
  for (const m of parts) {
    for (const [path, count] of Object.entries(m.asCalls))
      asCalls[path] = (asCalls[path] ?? 0) + count
  }
  const sum = (pick: (m: Measured) => number) => parts.reduce((s, m) => s + pick(m), 0)
  const wallMs = sum((m) => (m.n * 1000) / m.rps)
  return {
    n,
    cpuUsPerReq: total((m) => m.cpuUsPerReq),
    mainUsPerReq: total((m) => m.mainUsPerReq),
    mainWaitUsPerReq: total((m) => m.mainWaitUsPerReq),
    rps: (n * 1000) / wallMs,
    asCalls,
    storeCalls: {
      get: sum((m) => m.storeCalls.get),
      set: sum((m) => m.storeCalls.set),
      destroy: sum((m) => m.storeCalls.destroy),
      touch: sum((m) => m.storeCalls.touch),
    },
    window: [parts[0]?.window[0] ?? 0, parts.at(-1)?.window[1] ?? 0],
    load: {
      otherCores: total((m) => m.load.otherCores),
      loadavg1: parts.at(-1)?.load.loadavg1 ?? Number.NaN,
    },
    slices: parts.map((m) => m.cpuUsPerReq),
  }
}

export function measurePages(
  rp: RelyingParty,
  as: AuthorizationServer,
  cookies: readonly string[],
  n: number,
  concurrency: number,
): Promise<Measured> {
  return measure(rp, as, n, () => pages(rp, cookies, n, concurrency))
}
