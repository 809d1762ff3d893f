/**
 * `node --import tsx bench/run.ts [--smoke]`: the CPU cost per request of express-fapi's login,
 * callback and authenticated page against the floors (hand-written routes doing only the
 * unavoidable work) and against the libraries users would pick instead.
 *
 * The instrument (docs/engineering/performance.md says why each part is there):
 * - every contender is a server in a process of its own, driven over keep-alive HTTP from this
 *   process; a measurement is the CPU time of that server process (`process.cpuUsage()` sampled
 *   inside it before and after a batch: all threads, libuv threadpool included) per request;
 * - each contender first warms up in batches until its CPU/req settles: two successive batches
 *   within `--settle` (3 %) of each other, at most 12 batches;
 * - a ratio's two contenders are measured as a pair: before it both servers empty their session
 *   stores and collect the garbage; each side's requests (sized from the warm-up to cost
 *   `--cpu-ms`, 1000 ms, of CPU) are cut into 8 slices run alone in the order A B B A A B B A …;
 * - a round measures every pair once, in a shuffled order (seeded, `--seed`); a round's ratio is
 *   top's second-lowest slice over bottom's (other processes only add CPU to a slice), the ratio
 *   over all slices beside it; over `--rounds` (9) rounds the median is given with its 95 %
 *   interval (the median's order-statistic interval), and the targets are judged by it;
 * - the machine's load is sampled during every batch: the CPU other processes used, and the
 *   load average.
 *
 * `--slow PCT` adds a copy of the callback contender doing PCT % more work (RSA-PSS
 * verifications calibrated in CPU time, before the callback), to check that the instrument sees the difference; `--compare DIR` runs a
 * patched copy of the sources as the `-b` contenders. Nothing is asserted: `--smoke` runs one
 * short round to prove that every contender works end to end, and prints no ratios or verdicts.
 */
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

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    'cpu-ms': { type: 'string' },
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
const smoke = args.smoke === true
function numArg(value: string | undefined, fallback: number, min: number, max: number): number {
  const parsed = value === undefined ? fallback : Number(value)
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new Error(`expected a number from ${min} to ${max}, got ${String(value)}`)
  }
  return parsed
}
const settings = {
  rounds: Math.round(numArg(args.rounds, smoke ? 1 : 9, 1, 50)),
  /** CPU milliseconds per measured batch (the batch size follows from the warm-up's CPU/req). */
  cpuMs: numArg(args['cpu-ms'], 1000, 10, 20_000),
  /** Warm-up ends when two successive batches' CPU/req are within this fraction. */
  settle: numArg(args.settle, 0.03, 0.001, 1),
  /** CPU milliseconds per warm-up batch, and at most this many batches. */
  warmUpCpuMs: 250,
  warmUpMaxBatches: 12,
  /** Slices per side of a pair's measurement, run A B B A A B B A … */
  chunks: smoke ? 1 : 8,
  concurrency: Math.round(numArg(args.concurrency, smoke ? 4 : 8, 1, 64)),
  rawN: smoke ? 20 : 1000,
  /** `--slow PCT`: the `cb-fapi-b` contender does PCT % more CPU work per callback. */
  slowPct: numArg(args.slow, 0, 0, 100),
  seed: Math.round(numArg(args.seed, Date.now() % 1_000_000, 0, 2 ** 31)),
}
/** Smoke: fixed tiny batches, one warm-up batch. */
const SMOKE_N = { login: 8, callback: 4, auth: 20 } as const
/** Size of the first warm-up batch, before the CPU/req is known. */
const FIRST_N = { login: 100, callback: 50, auth: 500 } as const
/** Logged-in sessions the `auth-*` contenders' requests cycle over. */
const SESSIONS = 16

const algs = (args.algs ?? ALGS.join(',')).split(',').map((alg) => {
  if (!(ALGS as readonly string[]).includes(alg)) throw new Error(`unknown alg ${alg}`)
  return alg as Alg
})
const fapiSrc = args['fapi-src'] ?? fileURLToPath(new URL('../src', import.meta.url))
const compareSrc = args.compare
const only = args.only?.split(',')
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

/** The processes of a run: started once, each serving one app per algorithm. */
interface Processes {
  readonly as: AuthorizationServer
  readonly raw: Child
  readonly rps: readonly RpProcess[]
  /** The redis-server of the `-redis` contenders, when one is selected. */
  readonly redis?: StartedRedis
}

async function startProcesses(): Promise<Processes> {
  progress(`starting the authorization server and ${selected.length + 1} other processes`)
  const raw = Child.start('raw crypto', new URL('raw-crypto.ts', import.meta.url))
  children.add(raw)
  const [as, rps, redis] = await Promise.all([
    startAuthorizationServer(),
    Promise.all(selected.map((c) => startRpProcess(c))),
    selected.some(onRedis) ? startRedis() : undefined,
    raw.ready(),
  ])
  if (redis !== undefined) stopRedis = () => redis.close()
  return { as, raw, rps, ...(redis === undefined ? {} : { redis }) }
}

/** A measured batch of one contender, prepared (callbacks minted, not measured) and ready to run. */
type Ready = () => Promise<Measured>

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
  const options = {
    alg,
    issuer: as.issuer,
    clientId,
    privateJwk,
    fapiSrc,
    concurrency: settings.concurrency,
    ...(processes.redis === undefined ? {} : { redisUrl: processes.redis.url }),
  }
  const mine = processes.rps.filter((rp) => withAuth || !isAuth(rp.contender))
  progress(`${alg}: starting ${mine.length} apps`)
  const rps = await Promise.all(
    mine.map((rp) =>
      startApp(rp, {
        ...options,
        fapiSrc: isPatched(rp.contender) && compareSrc !== undefined ? compareSrc : fapiSrc,
      }),
    ),
  )
  const mint = { alg, clientId }
  const { concurrency } = settings

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
  const sizeFor = (cpuMs: number, usPerReq: number) =>
    Math.max(10, Math.min(50_000, Math.round((cpuMs * 1000) / usPerReq)))

  // Warm-up until CPU/req settles; the measured batch size follows from it.
  const warmUps = new Map<Contender, WarmUp>()
  const sizes = new Map<Contender, number>()
  for (const rp of rps) {
    const group = groupOf(rp.contender)
    if (rp.contender === 'cb-fapi-b' && settings.slowPct > 0) {
      const base = warmUps.get('cb-fapi')
      if (base === undefined) throw new Error('--slow needs the cb-fapi contender')
      // PCT % of cb-fapi's CPU/req over its warm-up (the first batch, JIT and all, left out).
      const us = (estimate(base.cpuUsPerReq.slice(1)).median * settings.slowPct) / 100
      slowedBy.set(alg, us)
      await rp.child.call('slow', { us })
      progress(`${alg}: cb-fapi-b does ${us.toFixed(0)} µs more CPU per callback`)
    }
    const perReq: number[] = []
    const asCalls: Record<string, number> = {}
    let n: number = smoke ? SMOKE_N[group] : FIRST_N[group]
    let settled = false
    let lastAsCallsPerReq: Record<string, number> = {}
    const maxBatches = smoke ? 1 : settings.warmUpMaxBatches
    while (perReq.length < maxBatches && !settled) {
      const measured = await (await prepare(rp, n))()
      perReq.push(round(measured.cpuUsPerReq, 1))
      for (const [path, count] of Object.entries(measured.asCalls))
        asCalls[path] = (asCalls[path] ?? 0) + count
      lastAsCallsPerReq = Object.fromEntries(
        Object.entries(measured.asCalls).map(([path, count]) => [path, count / measured.n]),
      )
      n = sizeFor(settings.warmUpCpuMs, measured.cpuUsPerReq)
      const [previous, last] = [perReq.at(-2), perReq.at(-1)]
      settled =
        perReq.length >= 3 &&
        previous !== undefined &&
        last !== undefined &&
        Math.abs(last / previous - 1) <= settings.settle
    }
    const warmUp = {
      batches: perReq.length,
      settled,
      cpuUsPerReq: perReq,
      asCalls,
      lastAsCallsPerReq,
    }
    warmUps.set(rp.contender, warmUp)
    const size = smoke ? SMOKE_N[group] : sizeFor(settings.cpuMs, perReq.at(-1) ?? 1000)
    sizes.set(rp.contender, size)
    progress(
      `${alg}: ${rp.contender} warmed up in ${perReq.length} batches` +
        `${settled || smoke ? '' : ' (not settled)'}, ${size} requests per measurement`,
    )
  }

  // Rounds: every pair of a ratio, both sides measured over the same seconds, the pairs of a
  // round in a shuffled order, which side starts first alternating.
  const random = generator(settings.seed + ALGS.indexOf(alg))
  const byName = new Map<Contender, RelyingParty>(rps.map((rp) => [rp.contender, rp]))
  const pairs = RATIOS.filter(([, top, bottom]) => byName.has(top) && byName.has(bottom))
  const batches: Partial<Record<Contender, Measured[]>> = {}
  const ratioSamples = new Map<string, { low: number[]; overall: number[] }>()
  const orders: string[][] = []
  const requestsFor = async (rp: RelyingParty): Promise<Side> => {
    const n = sizes.get(rp.contender) ?? 10
    const group = groupOf(rp.contender)
    if (group === 'callback') {
      return {
        rp,
        kind: 'callback',
        requests: await prepareCallbacks(rp, as, n, concurrency, mint),
      }
    }
    if (group === 'auth') {
      const cookies = loggedIn.get(rp.contender) ?? []
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
  for (let r = 1; r <= settings.rounds; r++) {
    const order = shuffled(pairs, random)
    orders.push(order.map(([name]) => name))
    for (const [index, [name, top, bottom]] of order.entries()) {
      const topFirst = (r + index) % 2 === 0
      const first = byName.get(topFirst ? top : bottom)!
      const second = byName.get(topFirst ? bottom : top)!
      // Both servers start from an empty session store and a collected heap; then the pair's
      // callbacks are prepared (their pending logins are the only sessions in the store).
      for (const rp of [first, second]) {
        await rp.child.call('reset', { keep: groupOf(rp.contender) === 'auth' })
      }
      const sides: [Side, Side] = [await requestsFor(first), await requestsFor(second)]
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
  }

  const sessions: Record<string, SessionSizes> = {}
  for (const rp of rps) {
    if (rp.contender === 'cb-fapi' || rp.contender === 'cb-node') {
      sessions[rp.contender] = await measureSessions(rp, as, mint)
    }
  }
  for (const rp of rps) rp.load.close()

  const result: AlgResult = { raw, contenders: {}, ratios: {}, sessions, orders }
  for (const rp of rps) {
    const { contender } = rp
    result.contenders[contender] = summarise(
      contender,
      sizes.get(contender) ?? 0,
      warmUps.get(contender)!,
      batches[contender] ?? [],
    )
  }
  for (const [name, top, bottom, target] of pairs) {
    const samples = ratioSamples.get(name)
    if (samples !== undefined) {
      result.ratios[name] = {
        top,
        bottom,
        estimate: estimate(samples.low),
        overall: estimate(samples.overall),
        ...(target ? { target } : {}),
      }
    }
  }
  allBatches.push(...Object.values(batches).flat())
  const us = slowedBy.get(alg)
  const base = result.contenders['cb-fapi']?.cpuUsPerReq.median
  if (us !== undefined && base !== undefined) {
    result.slowed = { us: round(us, 1), expectedRatio: round(1 + us / base, 4) }
  }
  return result
}

const allBatches: Measured[] = []
/** Stops the redis-server of the `-redis` contenders (by its own process). */
let stopRedis: () => Promise<void> = async () => undefined
/** `--slow`: the CPU µs added per callback of cb-fapi-b, by algorithm. */
const slowedBy = new Map<Alg, number>()

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
