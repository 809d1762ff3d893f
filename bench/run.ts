/**
 * `node --import tsx bench/run.ts [--smoke]`: login and callback cost of express-fapi against the
 * floor (hand-written routes doing only the unavoidable work) and against the libraries users
 * would pick instead, in one run, contenders alternating A B C … A B C … for several rounds.
 *
 * Measured per batch: CPU time of the server process itself per request (`process.cpuUsage()`
 * sampled inside it before and after the batch; threadpool included), requests per second, and
 * requests the authorization server saw. Reported: medians and min–max over rounds; ratios are
 * taken per round, then summarised. Nothing is asserted: `--smoke` only proves that every
 * contender still runs end to end.
 */
import { availableParallelism, cpus } from 'node:os'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Child, CHILD_MAX_LIFETIME_MS } from './lib/ipc.js'
import {
  callbacks,
  children,
  killAll,
  logins,
  measureCallbacks,
  measureLogins,
  prepareCallbacks,
  startApp,
  startAuthorizationServer,
  startRpProcess,
  stopAll,
  type AuthorizationServer,
  type Measured,
  type RelyingParty,
  type RpProcess,
} from './lib/driver.js'
import { ALGS, generateJwkPair, type Alg } from './lib/jwt-node.js'
import {
  CONTENDERS,
  isCallback,
  isPatched,
  type Contender,
  type PathCounts,
} from './lib/protocol.js'
import { writeJson } from './lib/report.js'
import { print, ratio, summarise, targets, type AlgResult } from './lib/results.js'
import { measureSessions, setCookieBytes, type SessionSizes } from './lib/sessions.js'

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    n: { type: 'string' },
    'cb-n': { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string' },
    algs: { type: 'string' },
    'fapi-src': { type: 'string' },
    compare: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
})
const smoke = args.smoke === true
function intArg(value: string | undefined, fallback: number, min: number, max: number): number {
  const parsed = value === undefined ? fallback : Number(value)
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new Error(`expected an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return parsed
}
const settings = {
  rounds: intArg(args.rounds, smoke ? 1 : 7, 1, 50),
  n: intArg(args.n, smoke ? 12 : 400, 1, 20_000),
  cbN: intArg(args['cb-n'], smoke ? 6 : 250, 1, 10_000),
  warmup: intArg(args.warmup, smoke ? 4 : 250, 1, 10_000),
  concurrency: intArg(args.concurrency, smoke ? 4 : 8, 1, 64),
  rawN: smoke ? 20 : 1500,
}
const algs = (args.algs ?? ALGS.join(',')).split(',').map((alg) => {
  if (!(ALGS as readonly string[]).includes(alg)) throw new Error(`unknown alg ${alg}`)
  return alg as Alg
})
const fapiSrc = args['fapi-src'] ?? fileURLToPath(new URL('../src', import.meta.url))
const compareSrc = args.compare
const only = args.only?.split(',')
const selected: Contender[] = CONTENDERS.filter(
  (c) => (compareSrc !== undefined || !isPatched(c)) && (only === undefined || only.includes(c)),
)
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
    process.exit(130)
  })
}

/** The processes of a run: started once, each serving one app per algorithm. */
interface Processes {
  readonly as: AuthorizationServer
  readonly raw: Child
  readonly rps: readonly RpProcess[]
}

async function startProcesses(): Promise<Processes> {
  const contenders = selected
  progress(`starting the authorization server and ${contenders.length + 1} other processes`)
  const raw = Child.start('raw crypto', new URL('raw-crypto.ts', import.meta.url))
  children.add(raw)
  const [as, rps] = await Promise.all([
    startAuthorizationServer(),
    Promise.all(contenders.map((c) => startRpProcess(c))),
    raw.ready(),
  ])
  return { as, raw, rps }
}

async function benchAlg(alg: Alg, processes: Processes): Promise<AlgResult> {
  const { as } = processes
  const clientId = `bench-${alg.toLowerCase()}`
  const { privateJwk, publicJwk } = generateJwkPair(alg, `${clientId}-key`)
  await as.child.call('client', { clientId, publicJwk })
  progress(`${alg}: raw crypto probe`)
  const rawResult = await processes.raw.call<Record<string, number>>('run', {
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
  }
  const contenders = processes.rps.map((rp) => rp.contender)
  progress(`${alg}: starting ${contenders.length} apps`)
  const rps = await Promise.all(
    processes.rps.map((rp) =>
      startApp(rp, { ...options, fapiSrc: isPatched(rp.contender) ? compareSrc! : fapiSrc }),
    ),
  )
  const byName = new Map<Contender, RelyingParty>(rps.map((rp) => [rp.contender, rp]))
  const mint = { alg, clientId }

  // Warm-up: JIT, discovery, JWKS, connections. Requests to the AS during it are kept apart.
  const warmupAs = new Map<Contender, PathCounts>()
  for (const rp of rps) {
    progress(`${alg}: warming up ${rp.contender}`)
    const before = await as.child.call<PathCounts>('counts')
    const loginBatch = await logins(rp, settings.warmup, settings.concurrency)
    if (isCallback(rp.contender)) {
      const prepared = await prepareCallbacks(rp, as, settings.warmup, settings.concurrency, mint)
      await callbacks(rp, prepared, settings.concurrency)
    }
    const after = await as.child.call<PathCounts>('counts')
    const delta: PathCounts = {}
    for (const [path, count] of Object.entries(after)) {
      if (count !== (before[path] ?? 0)) delta[path] = count - (before[path] ?? 0)
    }
    warmupAs.set(rp.contender, delta)
    const sample = loginBatch.responses[0]
    if (sample !== undefined) setCookies.set(`${alg} ${rp.contender}`, setCookieBytes(sample))
  }

  const batches: Partial<Record<Contender, Measured[]>> = {}
  for (let round = 1; round <= settings.rounds; round++) {
    for (const contender of contenders) {
      const rp = byName.get(contender)!
      const measured = isCallback(contender)
        ? await measureCallbacks(
            rp,
            as,
            await prepareCallbacks(rp, as, settings.cbN, settings.concurrency, mint),
            settings.concurrency,
          )
        : await measureLogins(rp, as, settings.n, settings.concurrency)
      ;(batches[contender] ??= []).push(measured)
      const failures = await rp.child.call<number>('failures')
      if (failures > 0) throw new Error(`${contender}: ${failures} server-side failures`)
    }
    progress(`${alg}: round ${round}/${settings.rounds} done`)
  }

  const sessions: Record<string, SessionSizes> = {}
  for (const contender of ['cb-fapi', 'cb-node'] as const) {
    const rp = byName.get(contender)
    if (rp !== undefined) sessions[contender] = await measureSessions(rp, as, mint)
  }
  for (const rp of rps) rp.load.close()

  const result: AlgResult = { raw: rawResult, login: {}, callback: {}, ratios: {}, sessions }
  for (const contender of contenders) {
    const summary = summarise(contender, batches[contender] ?? [], warmupAs.get(contender) ?? {})
    summary.loginSetCookieBytes = setCookies.get(`${alg} ${contender}`) ?? 0
    if (isCallback(contender)) result.callback[contender] = summary
    else result.login[contender] = summary
  }
  const ratios: Array<[string, Contender, Contender]> = [
    ['login: express-fapi / node-crypto floor', 'login-fapi', 'login-node'],
    ['login: express-fapi / jose floor', 'login-fapi', 'login-jose'],
    ['login: express-fapi on Connect / node-crypto floor', 'login-connect', 'login-node'],
    ['login: openid-client / express-fapi', 'login-oc', 'login-fapi'],
    ['login: express-openid-connect / express-fapi', 'login-eoc', 'login-fapi'],
    ['callback: express-fapi / node-crypto floor', 'cb-fapi', 'cb-node'],
    ['callback: express-fapi / jose+fetch floor', 'cb-fapi', 'cb-jose'],
    ['callback: express-fapi on Connect / node-crypto floor', 'cb-connect', 'cb-node'],
    ['login: patched / express-fapi', 'login-fapi-b', 'login-fapi'],
    ['login: patched / node-crypto floor', 'login-fapi-b', 'login-node'],
    ['callback: patched / express-fapi', 'cb-fapi-b', 'cb-fapi'],
    ['callback: patched / node-crypto floor', 'cb-fapi-b', 'cb-node'],
  ]
  for (const [name, top, bottom] of ratios) {
    const value = ratio(batches, top, bottom)
    if (value !== undefined) result.ratios[name] = value
  }
  return result
}

const setCookies = new Map<string, number>()

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
function repoPath(path: string): string {
  return relative(repoRoot, path) || '.'
}

async function main(): Promise<void> {
  const started = Date.now()
  const results: Partial<Record<Alg, AlgResult>> = {}
  const processes = await startProcesses()
  for (const alg of algs) {
    results[alg] = await benchAlg(alg, processes)
    print(alg, results[alg], settings)
  }
  await stopAll()
  const summary = targets(results)
  console.log('\n## Targets (measured, never asserted)\n')
  if (smoke) console.log('(--smoke: tiny counts, one round; these numbers mean nothing)\n')
  console.log(summary.join('\n'))
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
    mode: smoke ? 'smoke' : 'full',
    ...settings,
    // Relative to the repository, so that results.json names no directory of this machine.
    fapiSrc: repoPath(fapiSrc),
    compareSrc: compareSrc === undefined ? null : repoPath(compareSrc),
    seconds: Math.round((Date.now() - started) / 1000),
  }
  await writeJson(out, { meta, results, targets: summary })
  console.log(`\nwrote ${repoPath(out)} in ${meta.seconds} s`)
}

main().then(
  () => clearTimeout(watchdog),
  async (error: unknown) => {
    console.error(error)
    killAll()
    process.exitCode = 1
  },
)
