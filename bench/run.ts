/**
 * `node --import tsx bench/run.ts [--smoke]`: the CPU cost per request of express-fapi's login,
 * callback and authenticated page against the floors (hand-written routes doing only the
 * unavoidable work) and against the libraries users would pick instead.
 *
 * The instrument (docs/engineering/performance.md says why each part is there):
 * - every contender is a server in a process of its own, driven over keep-alive HTTP from this
 *   process; a measurement is the CPU time of that server process (`process.cpuUsage()` sampled
 *   inside it before and after a batch: all threads, libuv threadpool included) per request;
 * - each contender first warms up in batches (each from empty stores and a collected heap, as a
 *   measurement) until its CPU/req settles: the median of the last 4 batches within `--settle`
 *   (3 %) of the median of the 4 before, after at least 12 batches, at most 40;
 * - a ratio's two contenders are measured as a pair: before it both servers empty their session
 *   stores and collect the garbage; both sides measure the same number of requests (`--requests`:
 *   800 logins, 400 callbacks, 2,000 pages, about a second of CPU each here), cut into 8 slices
 *   run alone in the order A B B A A B B A …;
 * - a round measures every pair once, in a shuffled order (seeded, `--seed`); a round's ratio is
 *   top's CPU over all its slices over bottom's (`--estimator low`: each side's second-lowest
 *   slice, for a machine whose other tenants only add CPU to a slice); over `--rounds` (9) rounds
 *   the median is given with its 95 % interval (the median's order-statistic interval), and the
 *   targets are judged by it;
 * - the machine's load is sampled during every batch: the CPU other processes used, and the
 *   load average.
 *
 * `--slow PCT` adds a copy of the callback contender doing PCT % more work (RSA-PSS
 * verifications calibrated in CPU time, before the callback), to check that the instrument sees the difference; `--compare DIR` runs a
 * patched copy of the sources as the `-b` contenders. Nothing is asserted: `--smoke` runs one
 * short round to prove that every contender works end to end, and prints no ratios or verdicts.
 */
import { execFileSync } from 'node:child_process'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Child, CHILD_MAX_LIFETIME_MS } from './lib/ipc.js'
import {
  children,
  killAll,
  measureCallbacks,
  measureLogins,
  measurePages,
  lowOf,
  measureInterleaved,
  prepareCallbacks,
  prepareLoggedIn,
  startApp,
  startAuthorizationServer,
  startRpProcess,
  stopAll,
  type AuthorizationServer,
  type Measured,
  type RelyingParty,
  type AppOptions,
  type RpProcess,
  type Side,
} from './lib/driver.js'
import { ALGS, generateJwkPair, type Alg } from './lib/jwt-node.js'
import {
  CONTENDERS,
  isAuth,
  isCallback,
  isPatched,
  onRedis,
  type Contender,
} from './lib/protocol.js'
import { startRedis, type StartedRedis } from '../test/support/redis.js'
import { round, series, table, writeJson } from './lib/report.js'
import {
  print,
  summarise,
  targets,
  type AlgResult,
  type Ratio,
  type WarmUp,
} from './lib/results.js'
import { measureSessions, type SessionSizes } from './lib/sessions.js'
import { estimate, fmtEstimate, generator, shuffled } from './lib/stats.js'

/** A mistake on the command line: one line saying what, and where the options are; exit 2. */
function usage(problem: string): never {
  console.error(
    `bench/run.ts: ${problem}\nThe options are listed in docs/engineering/performance.md ("Running it").`,
  )
  process.exit(2)
}

const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        help: { type: 'boolean', default: false },
        smoke: { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        'cpu-ms': { type: 'string' },
        requests: { type: 'string' },
        processes: { type: 'string' },
        pin: { type: 'boolean', default: false },
        'b-process': { type: 'string' },
        estimator: { type: 'string' },
        settle: { type: 'string' },
        concurrency: { type: 'string' },
        algs: { type: 'string' },
        'fapi-src': { type: 'string' },
        compare: { type: 'string' },
        slow: { type: 'string' },
        only: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
      },
    })
  } catch (error) {
    return usage(error instanceof Error ? error.message : 'unreadable options')
  }
})()
if (args.help === true) {
  console.log(
    'usage: node --import tsx bench/run.ts [--smoke] [options]\nThe options are listed in docs/engineering/performance.md ("Running it").',
  )
  process.exit(0)
}
const smoke = args.smoke === true
function numArg(value: string | undefined, fallback: number, min: number, max: number): number {
  const parsed = value === undefined ? fallback : Number(value)
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    usage(`expected a number from ${min} to ${max}, got ${String(value)}`)
  }
  return parsed
}
/**
 * Requests per side of a pair, by kind: about a second of CPU each on a 2-vCPU machine (a login
 * 1.2 ms, a callback 2.3 ms, a page 0.5 ms). Fixed rather than derived from each run's warm-up:
 * CPU per request can depend on the batch's size (what a batch costs once is spread over it,
 * the sessions and grants it leaves grow the heap), and the derived sizes moved by a third
 * between runs of one commit: a variable each run drew once and kept for all its rounds.
 */
const REQUESTS: Record<Group, number> = { login: 800, callback: 400, auth: 2000 }
const settings = {
  rounds: Math.round(numArg(args.rounds, smoke ? 1 : 9, 1, 199)),
  /**
   * `--cpu-ms`: CPU milliseconds per measured batch, each side's size following from its
   * warm-up's CPU/req. Without it, the sizes are `--requests`, the same in every run.
   */
  cpuMs: args['cpu-ms'] === undefined ? undefined : numArg(args['cpu-ms'], 1000, 10, 20_000),
  /** Requests per side of a pair, by kind of request, when `--cpu-ms` is not given. */
  requests: requestsArg(args.requests),
  /** Warm-up ends when two successive batches' CPU/req are within this fraction. */
  settle: numArg(args.settle, 0.03, 0.001, 1),
  /** CPU milliseconds per warm-up batch, and at most this many batches. */
  warmUpCpuMs: 250,
  /** At least this many warm-up batches, at most the other. */
  warmUpMinBatches: 12,
  warmUpMaxBatches: 40,
  /** The warm-up compares the medians of two windows of this many batches. */
  warmUpWindow: 4,
  /** Slices per side of a pair's measurement, run A B B A A B B A … */
  chunks: smoke ? 1 : 8,
  concurrency: Math.round(numArg(args.concurrency, smoke ? 4 : 8, 1, 64)),
  rawN: smoke ? 20 : 1000,
  /** `--slow PCT`: the `cb-fapi-b` contender does PCT % more CPU work per callback. */
  slowPct: numArg(args.slow, 0, 0, 100),
  seed: Math.round(numArg(args.seed, Date.now() % 1_000_000, 0, 2 ** 31)),
  /**
   * Rounds per set of processes. `run` (the default): one process per contender for the whole
   * run; `round` (1) or N: a new set, warmed up again, every N rounds, so that a process's own
   * placement (which moved a ratio by 5–10 % for a whole run) varies inside the interval instead
   * of biasing every round alike, at the price of a warm-up per set.
   */
  roundsPerProcesses: processesArg(args.processes),
  /** `shared` (the default): a `-b` contender runs in its base contender's process; `own`. */
  bProcess: bProcessArg(args['b-process']),
  /**
   * What the targets are judged by: `all` (the default), each side's CPU over all its slices;
   * `low`, each side's second-lowest slice (made for a machine shared with other tenants, whose
   * load only ever adds to a slice; on a quiet machine its intervals were the wider in 20 of 24
   * ratios).
   */
  estimator: estimatorArg(args.estimator),
}
function requestsArg(value: string | undefined): Record<Group, number> {
  if (value !== undefined && args['cpu-ms'] !== undefined) {
    usage('--requests and --cpu-ms each set the batch sizes; give one of them')
  }
  const requests = { ...REQUESTS }
  for (const part of value === undefined || value === '' ? [] : value.split(',')) {
    const [kind, count] = part.split('=')
    const n = Number(count)
    if (!(kind === 'login' || kind === 'callback' || kind === 'auth')) {
      usage(`--requests: expected login=N, callback=N or auth=N, got ${part}`)
    }
    if (!Number.isInteger(n) || n < 10 || n > 50_000) {
      usage(`--requests: expected a whole number from 10 to 50000 for ${kind}, got ${count}`)
    }
    requests[kind] = n
  }
  return requests
}
function estimatorArg(value: string | undefined): 'all' | 'low' {
  if (value === undefined || value === 'all' || value === 'low') return value ?? 'all'
  return usage(`--estimator: expected all or low, got ${value}`)
}
function bProcessArg(value: string | undefined): 'shared' | 'own' {
  if (value === undefined || value === 'shared' || value === 'own') return value ?? 'shared'
  return usage(`--b-process: expected shared or own, got ${value}`)
}
function processesArg(value: string | undefined): number {
  if (value === undefined || value === 'run') return Number.POSITIVE_INFINITY
  if (value === 'round') return 1
  const n = Number(value)
  if (Number.isInteger(n) && n >= 1 && n <= 199) return n
  return usage(`--processes: expected run, round or a number of rounds, got ${value}`)
}
/** Smoke: fixed tiny batches, one warm-up batch. */
const SMOKE_N = { login: 8, callback: 4, auth: 20 } as const
/** Size of the first warm-up batch, before the CPU/req is known. */
const FIRST_N = { login: 100, callback: 50, auth: 500 } as const
/** Logged-in sessions the `auth-*` contenders' requests cycle over. */
const SESSIONS = 16

const algs = (args.algs ?? ALGS.join(',')).split(',').map((alg) => {
  if (!(ALGS as readonly string[]).includes(alg)) {
    usage(`--algs: expected ${ALGS.join(' or ')}, got ${alg}`)
  }
  return alg as Alg
})
const fapiSrc = args['fapi-src'] ?? fileURLToPath(new URL('../src', import.meta.url))
const compareSrc = args.compare
const only = args.only?.split(',')
for (const name of only ?? []) {
  if (!(CONTENDERS as readonly string[]).includes(name)) {
    usage(`--only: no contender ${name}; the contenders are ${CONTENDERS.join(', ')}`)
  }
}
/** What a plain run measures: the contenders the targets are about. */
const DEFAULT: readonly Contender[] = [
  'login-node',
  'login-fapi',
  'login-fapi-signer',
  'login-oc',
  'login-eoc',
  'cb-node',
  'cb-fapi',
  'auth-bare',
  'auth-fapi',
]
function wanted(c: Contender): boolean {
  if (only !== undefined) return only.includes(c)
  if (c === 'cb-fapi-b') return compareSrc !== undefined || settings.slowPct > 0
  if (isPatched(c)) return compareSrc !== undefined
  return args.all === true || DEFAULT.includes(c)
}
const selected: Contender[] = CONTENDERS.filter(wanted)
const out =
  args.out ?? fileURLToPath(new URL(smoke ? 'results.smoke.json' : 'results.json', import.meta.url))
const t0 = Date.now()
/** Progress on stderr, so that stdout holds only the report. */
function progress(message: string): void {
  console.error(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${message}`)
}

// Every process and loop is bounded: a watchdog ends the run (and its children) if it hangs.
const watchdog = setTimeout(() => {
  console.error('bench: watchdog expired, stopping')
  killAll()
  process.exit(2)
}, CHILD_MAX_LIFETIME_MS - 60_000)
watchdog.unref()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll()
    // close() sends redis-server its SIGTERM at once, before the exit.
    void stopRedis()
    process.exit(130)
  })
}

type Group = 'login' | 'callback' | 'auth'
function groupOf(contender: Contender): Group {
  return isAuth(contender) ? 'auth' : isCallback(contender) ? 'callback' : 'login'
}

/** The ratios reported, in order: name, top, bottom, target. */
const RATIOS: ReadonlyArray<readonly [string, Contender, Contender, Ratio['target']?]> = [
  [
    'login: express-fapi / node-crypto floor',
    'login-fapi',
    'login-node',
    { op: '<=', value: 1.05 },
  ],
  ['login: openid-client / express-fapi', 'login-oc', 'login-fapi', { op: '>', value: 1 }],
  [
    'login: express-openid-connect / express-fapi',
    'login-eoc',
    'login-fapi',
    { op: '>', value: 1 },
  ],
  [
    'login: express-fapi with an external signer / with a JWK',
    'login-fapi-signer',
    'login-fapi',
    { op: '<=', value: 1.05 },
  ],
  ['login: express-fapi / jose floor', 'login-fapi', 'login-jose'],
  ['login: express-fapi on Connect / node-crypto floor', 'login-connect', 'login-node'],
  ['login: patched / express-fapi', 'login-fapi-b', 'login-fapi'],
  ['callback: express-fapi / node-crypto floor', 'cb-fapi', 'cb-node', { op: '<=', value: 1.1 }],
  ['callback: express-fapi / jose+fetch floor', 'cb-fapi', 'cb-jose'],
  ['callback: express-fapi on Connect / node-crypto floor', 'cb-connect', 'cb-node'],
  ['callback: patched or slowed / express-fapi', 'cb-fapi-b', 'cb-fapi'],
  [
    'authenticated page: express-fapi / bare express-session',
    'auth-fapi',
    'auth-bare',
    { op: '<=', value: 1.1 },
  ],
  [
    'authenticated page on Redis: express-fapi / bare express-session',
    'auth-fapi-redis',
    'auth-bare-redis',
    { op: '<=', value: 1.1 },
  ],
]

/**
 * The processes that live for the whole run: the authorization server, the raw crypto probe and
 * the redis-server of the `-redis` contenders. The contenders' own processes are a cohort's.
 */
interface Processes {
  readonly as: AuthorizationServer
  readonly raw: Child
  /** The redis-server of the `-redis` contenders, when one is selected. */
  readonly redis?: StartedRedis
}

/**
 * `--pin`: the contender being measured gets a CPU of its own (the last), and everything else
 * (this process, the authorization server, the probe, redis) shares the others, so that every
 * contender runs under the same conditions: alone on its core, never preempted by the load
 * generator or the authorization server it talks to. All threads are pinned (`taskset -a`), and
 * threads started later (libuv's pool) inherit the affinity.
 */
const pinning =
  args.pin === true && availableParallelism() >= 2
    ? { contender: String(availableParallelism() - 1), rest: `0-${availableParallelism() - 2}` }
    : undefined
function pin(pid: number | undefined, cpus: string): void {
  if (pid === undefined) return
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}

async function startProcesses(): Promise<Processes> {
  progress('starting the authorization server and the raw crypto probe')
  const raw = Child.start('raw crypto', new URL('raw-crypto.ts', import.meta.url))
  children.add(raw)
  const [as, redis] = await Promise.all([
    startAuthorizationServer(),
    selected.some(onRedis) ? startRedis() : undefined,
    raw.ready(),
  ])
  if (pinning !== undefined) {
    for (const pid of [process.pid, as.child.pid, raw.pid]) pin(pid, pinning.rest)
  }
  if (redis !== undefined) stopRedis = () => redis.close()
  return { as, raw, ...(redis === undefined ? {} : { redis }) }
}

/** A measured batch of one contender, prepared (callbacks minted, not measured) and ready to run. */
type Ready = () => Promise<Measured>

/**
 * One process per contender, its app started, its pages' users logged in and its JIT warmed up:
 * with `--processes round` (the default) each round has a cohort of its own, so that what a
 * process's own placement costs (heap layout, code placement, its core) varies from round to
 * round and lands inside the interval instead of biasing every round alike.
 */
interface Cohort {
  readonly rps: readonly RelyingParty[]
  readonly byName: ReadonlyMap<Contender, RelyingParty>
  /** The session cookies of the `auth-*` contenders' logged-in users. */
  readonly loggedIn: ReadonlyMap<Contender, string[]>
  readonly warmUps: ReadonlyMap<Contender, WarmUp>
}

/** What a cohort needs of its algorithm's setup, the same for every cohort. */
interface AlgSetup {
  readonly alg: Alg
  readonly as: AuthorizationServer
  readonly options: Omit<AppOptions, 'fapiSrc'>
  readonly mint: { readonly alg: Alg; readonly clientId: string }
  readonly contenders: readonly Contender[]
}

async function startCohort(setup: AlgSetup): Promise<Cohort> {
  const { alg, as, options, mint } = setup
  const { concurrency } = settings
  // A `-b` contender is a second app in its base contender's process (`--b-process shared`), so
  // that what the pair compares is the code, not two processes' placement; or a process of
  // its own (`own`), which is what an A/A pair needs to show that placement's cost.
  const own = setup.contenders.filter((c) => !isPatched(c) || settings.bProcess === 'own')
  const started = await Promise.all(own.map((c) => startRpProcess(c)))
  if (pinning !== undefined) for (const rp of started) pin(rp.child.pid, pinning.contender)
  const processes = setup.contenders.map((contender): RpProcess => {
    const mine = started.find((rp) => rp.contender === contender)
    if (mine !== undefined) return mine
    const base = started.find((rp) => `${rp.contender}-b` === contender)
    if (base === undefined) throw new Error(`${contender} needs its base contender`)
    return { contender, child: base.child }
  })
  const rps = await Promise.all(
    processes.map((rp) =>
      startApp(rp, {
        ...options,
        fapiSrc: isPatched(rp.contender) && compareSrc !== undefined ? compareSrc : fapiSrc,
      }),
    ),
  )
  const loggedIn = new Map<Contender, string[]>()
  for (const rp of rps.filter((r) => isAuth(r.contender))) {
    loggedIn.set(rp.contender, await prepareLoggedIn(rp, as, SESSIONS, concurrency, mint))
  }
  /** Prepares one batch of `n` requests of a contender. */
  const prepare = async (rp: RelyingParty, n: number): Promise<Ready> => {
    switch (groupOf(rp.contender)) {
      case 'login':
        return () => measureLogins(rp, as, n, concurrency)
      case 'callback': {
        const requests = await prepareCallbacks(rp, as, n, concurrency, mint)
        return () => measureCallbacks(rp, as, requests, concurrency)
      }
      case 'auth':
        return () => measurePages(rp, as, loggedIn.get(rp.contender) ?? [], n, concurrency)
    }
  }
  // Warm-up until CPU/req settles.
  const warmUps = new Map<Contender, WarmUp>()
  for (const rp of rps) {
    const group = groupOf(rp.contender)
    if (rp.contender === 'cb-fapi-b' && settings.slowPct > 0) {
      let us = slowedBy.get(alg)
      if (us === undefined) {
        const base = warmUps.get('cb-fapi')
        if (base === undefined) throw new Error('--slow needs the cb-fapi contender')
        // PCT % of cb-fapi's CPU/req over the first cohort's warm-up (its first batch left out).
        us = (estimate(base.cpuUsPerReq.slice(1)).median * settings.slowPct) / 100
        slowedBy.set(alg, us)
        progress(`${alg}: cb-fapi-b does ${us.toFixed(0)} µs more CPU per callback`)
      }
      await rp.child.call('slow', { us })
    }
    const perReq: number[] = []
    const asCalls: Record<string, number> = {}
    let n: number = smoke ? SMOKE_N[group] : FIRST_N[group]
    let settled = false
    let lastAsCallsPerReq: Record<string, number> = {}
    const maxBatches = smoke ? 1 : settings.warmUpMaxBatches
    while (perReq.length < maxBatches && !settled) {
      // Each warm-up batch starts as a measurement does: empty stores, a collected heap.
      await rp.child.call('reset', { keep: group === 'auth' })
      const measured = await (await prepare(rp, n))()
      perReq.push(round(measured.cpuUsPerReq, 1))
      for (const [path, count] of Object.entries(measured.asCalls))
        asCalls[path] = (asCalls[path] ?? 0) + count
      lastAsCallsPerReq = Object.fromEntries(
        Object.entries(measured.asCalls).map(([path, count]) => [path, count / measured.n]),
      )
      n = sizeFor(settings.warmUpCpuMs, measured.cpuUsPerReq)
      settled = hasSettled(perReq)
    }
    warmUps.set(rp.contender, {
      batches: perReq.length,
      settled,
      cpuUsPerReq: perReq,
      asCalls,
      lastAsCallsPerReq,
    })
  }
  return { rps, byName: new Map(rps.map((rp) => [rp.contender, rp])), loggedIn, warmUps }
}

async function stopCohort(cohort: Cohort): Promise<void> {
  for (const rp of cohort.rps) rp.load.close()
  const own = new Set(cohort.rps.map((rp) => rp.child))
  await Promise.all(
    [...own].map(async (child) => {
      await child.stop()
      children.delete(child)
    }),
  )
}

/**
 * Whether a warm-up has settled: at least `warmUpMinBatches` batches, and the median of the last
 * `warmUpWindow` within `--settle` of the median of the window before. A process's CPU/req falls
 * for thousands of requests (a login server here: from 2,500 µs to about 900 over 6,000 logins,
 * with bumps as the JIT and the collector catch up), and two successive batches within 3 % of
 * each other happen by chance long before it ends.
 */
function hasSettled(perReq: readonly number[]): boolean {
  const w = settings.warmUpWindow
  if (perReq.length < Math.max(settings.warmUpMinBatches, 2 * w)) return false
  const last = estimate(perReq.slice(-w)).median
  const before = estimate(perReq.slice(-2 * w, -w)).median
  return Math.abs(last / before - 1) <= settings.settle
}

function sizeFor(cpuMs: number, usPerReq: number): number {
  return Math.max(10, Math.min(50_000, Math.round((cpuMs * 1000) / usPerReq)))
}

async function benchAlg(alg: Alg, processes: Processes, withAuth: boolean): Promise<AlgResult> {
  const { as } = processes
  const clientId = `bench-${alg.toLowerCase()}`
  const { privateJwk, publicJwk } = generateJwkPair(alg, `${clientId}-key`)
  await as.child.call('client', { clientId, publicJwk })
  progress(`${alg}: raw crypto probe`)
  const raw = await processes.raw.call<Record<string, number>>('run', {
    alg,
    n: settings.rawN,
    fapiSrc,
  })
  const mint = { alg, clientId }
  const { concurrency } = settings
  const setup: AlgSetup = {
    alg,
    as,
    mint,
    options: {
      alg,
      issuer: as.issuer,
      clientId,
      privateJwk,
      concurrency,
      ...(processes.redis === undefined ? {} : { redisUrl: processes.redis.url }),
    },
    contenders: selected.filter((c) => withAuth || !isAuth(c)),
  }

  const random = generator(settings.seed + ALGS.indexOf(alg))
  const pairs = RATIOS.filter(
    ([, top, bottom]) => setup.contenders.includes(top) && setup.contenders.includes(bottom),
  )
  const batches: Partial<Record<Contender, Measured[]>> = {}
  const ratioSamples = new Map<string, { low: number[]; overall: number[] }>()
  const orders: string[][] = []
  /** The first cohort's warm-ups (reported), and the measured batch sizes they gave. */
  let warmUps: ReadonlyMap<Contender, WarmUp> | undefined
  const sizes = new Map<Contender, number>()
  /**
   * Both sides of a pair measure the same number of requests: `--requests`, or with `--cpu-ms`
   * the geometric mean of their own sizes. A side's CPU per request depends on how many
   * requests its batch holds, and sides of different sizes were a bias that held for a run.
   */
  const pairSize = (top: Contender, bottom: Contender): number =>
    Math.round(Math.sqrt((sizes.get(top) ?? 10) * (sizes.get(bottom) ?? 10)))
  const requestsFor = async (cohort: Cohort, rp: RelyingParty, n: number): Promise<Side> => {
    const group = groupOf(rp.contender)
    if (group === 'callback') {
      return {
        rp,
        kind: 'callback',
        requests: await prepareCallbacks(rp, as, n, concurrency, mint),
      }
    }
    if (group === 'auth') {
      const cookies = cohort.loggedIn.get(rp.contender) ?? []
      const path = rp.started.resourcePath ?? '/me'
      const requests = Array.from({ length: n }, (_, i) => ({
        path,
        cookie: cookies[i % cookies.length]!,
      }))
      return { rp, kind: 'page', requests }
    }
    const requests = Array.from({ length: n }, () => ({ path: rp.started.loginPath }))
    return { rp, kind: 'login', requests }
  }
  let cohort: Cohort | undefined
  const sessions: Record<string, SessionSizes> = {}
  for (let r = 1; r <= settings.rounds; r++) {
    if (cohort === undefined || (r - 1) % settings.roundsPerProcesses === 0) {
      if (cohort !== undefined) await stopCohort(cohort)
      progress(`${alg}: round ${r}: starting ${setup.contenders.length} processes, warming up`)
      cohort = await startCohort(setup)
    }
    if (warmUps === undefined) {
      warmUps = cohort.warmUps
      for (const [contender, warmUp] of warmUps) {
        const group = groupOf(contender)
        const size = smoke
          ? SMOKE_N[group]
          : settings.cpuMs === undefined
            ? settings.requests[group]
            : sizeFor(
                settings.cpuMs,
                estimate(warmUp.cpuUsPerReq.slice(-settings.warmUpWindow)).median,
              )
        sizes.set(contender, size)
        progress(
          `${alg}: ${contender} warmed up in ${warmUp.batches} batches` +
            `${warmUp.settled || smoke ? '' : ' (not settled)'}, ${size} requests per measurement`,
        )
      }
    }
    const order = shuffled(pairs, random)
    orders.push(order.map(([name]) => name))
    for (const [index, [name, top, bottom]] of order.entries()) {
      const topFirst = (r + index) % 2 === 0
      const first = cohort.byName.get(topFirst ? top : bottom)!
      const second = cohort.byName.get(topFirst ? bottom : top)!
      // Both servers start from an empty session store and a collected heap; then the pair's
      // callbacks are prepared (their pending logins are the only sessions in the store).
      for (const rp of [first, second]) {
        await rp.child.call('reset', { keep: groupOf(rp.contender) === 'auth' })
      }
      const n = pairSize(top, bottom)
      const sides: [Side, Side] = [
        await requestsFor(cohort, first, n),
        await requestsFor(cohort, second, n),
      ]
      const [a, b] = await measureInterleaved(as, sides, concurrency, settings.chunks)
      const [mTop, mBottom] = topFirst ? [a, b] : [b, a]
      ;(batches[top] ??= []).push(mTop)
      ;(batches[bottom] ??= []).push(mBottom)
      const samples = ratioSamples.get(name) ?? { low: [], overall: [] }
      samples.low.push(lowOf(mTop) / lowOf(mBottom))
      samples.overall.push(mTop.cpuUsPerReq / mBottom.cpuUsPerReq)
      ratioSamples.set(name, samples)
      for (const rp of [first, second]) {
        const failures = await rp.child.call<number>('failures')
        if (failures > 0) throw new Error(`${rp.contender}: ${failures} server-side failures`)
      }
    }
    progress(`${alg}: round ${r}/${settings.rounds} done (${pairs.length} pairs)`)
    if (r === settings.rounds) {
      const slowedRp = cohort.byName.get('cb-fapi-b')
      if (settings.slowPct > 0 && slowedRp !== undefined) {
        const spent = await slowedRp.child.call<{ usPerCallback: number }>('slowSpent')
        slowSpentBy.set(alg, spent.usPerCallback)
      }
      for (const rp of cohort.rps) {
        if (rp.contender === 'cb-fapi' || rp.contender === 'cb-node') {
          sessions[rp.contender] = await measureSessions(rp, as, mint)
        }
      }
    }
  }
  if (cohort !== undefined) await stopCohort(cohort)

  const result: AlgResult = { raw, contenders: {}, ratios: {}, sessions, orders }
  for (const contender of setup.contenders) {
    const warmUp = warmUps?.get(contender)
    if (warmUp === undefined) continue
    result.contenders[contender] = summarise(
      contender,
      sizes.get(contender) ?? 0,
      warmUp,
      batches[contender] ?? [],
    )
  }
  for (const [name, top, bottom, target] of pairs) {
    const samples = ratioSamples.get(name)
    if (samples !== undefined) {
      const low = estimate(samples.low)
      const overall = estimate(samples.overall)
      result.ratios[name] = {
        top,
        bottom,
        estimate: settings.estimator === 'low' ? low : overall,
        overall,
        low,
        ...(target ? { target } : {}),
      }
    }
  }
  allBatches.push(...Object.values(batches).flat())
  const us = slowedBy.get(alg)
  const base = result.contenders['cb-fapi']?.cpuUsPerReq.median
  if (us !== undefined && base !== undefined) {
    const inPlace = slowSpentBy.get(alg) ?? us
    result.slowed = {
      us: round(us, 1),
      expectedRatio: round(1 + us / base, 4),
      inPlaceUs: round(inPlace, 1),
      inPlaceRatio: round(1 + inPlace / base, 4),
    }
  }
  return result
}

const allBatches: Measured[] = []
/** Stops the redis-server of the `-redis` contenders (by its own process). */
let stopRedis: () => Promise<void> = async () => undefined
/** `--slow`: the CPU µs added per callback of cb-fapi-b, by algorithm. */
const slowedBy = new Map<Alg, number>()
/** `--slow`: what that work cost per callback in place (the last cohort's cb-fapi-b). */
const slowSpentBy = new Map<Alg, number>()

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
function repoPath(path: string): string {
  return relative(repoRoot, path) || '.'
}

/** Smoke: a line per contender and algorithm saying it answered every request as expected. */
function printSmoke(results: Partial<Record<Alg, AlgResult>>): void {
  const rows: string[][] = []
  for (const [alg, r] of Object.entries(results)) {
    for (const [contender, c] of Object.entries(r.contenders)) {
      rows.push([alg, contender, c.label, 'worked'])
    }
    rows.push([alg, 'raw crypto probe', `${Object.keys(r.raw).length} operations`, 'worked'])
  }
  console.log('\n## Smoke: every contender ran end to end\n')
  console.log(table(['alg', 'contender', '', ''], rows))
  console.log(
    '\n(--smoke: tiny batches, one round; no ratio is computed and nothing is judged.' +
      ' `npm run bench` measures.)',
  )
}

async function main(): Promise<void> {
  const started = Date.now()
  const loadAtStart = loadavg()
  const results: Partial<Record<Alg, AlgResult>> = {}
  const processes = await startProcesses()
  for (const [index, alg] of algs.entries()) {
    results[alg] = await benchAlg(alg, processes, index === 0)
    if (!smoke) print(alg, results[alg], settings.rounds)
  }
  await stopAll()
  await stopRedis()
  const others = estimate(allBatches.map((b) => b.load.otherCores))
  const load = {
    loadavgAtStart: loadAtStart.map((v) => round(v, 2)),
    loadavgAtEnd: loadavg().map((v) => round(v, 2)),
    loadavg1DuringBatches: series(allBatches.map((b) => b.load.loadavg1)),
    otherProcessesCores: others,
  }
  const seconds = Math.round((Date.now() - started) / 1000)
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
    mode: smoke ? 'smoke' : 'full',
    ...settings,
    contenders: selected,
    // Relative to the repository, so that results.json names no directory of this machine.
    fapiSrc: repoPath(fapiSrc),
    compareSrc: compareSrc === undefined ? null : repoPath(compareSrc),
    seconds,
  }
  let summary: string[] = []
  if (smoke) {
    printSmoke(results)
  } else {
    summary = targets(results)
    console.log('\n## Targets (by the 95 % interval; measured, never asserted)\n')
    console.log(summary.join('\n'))
    console.log(
      `\n## Load during the run\n\nother processes: ${fmtEstimate(others, 2)} cores busy ` +
        `(median [95 % interval] over ${allBatches.length} batches; ${availableParallelism()} cores)` +
        `\nload average: ${loadAtStart.map((v) => v.toFixed(2)).join(' ')} at the start, ` +
        `${load.loadavgAtEnd.join(' ')} at the end`,
    )
  }
  await writeJson(out, { meta, load, results, targets: summary })
  console.log(`\nwrote ${repoPath(out)} in ${seconds} s`)
}

main().then(
  () => clearTimeout(watchdog),
  async (error: unknown) => {
    console.error(error)
    killAll()
    await stopRedis().catch(() => undefined)
    process.exitCode = 1
  },
)
