/**
 * The results of a run: per-contender summaries, per-round ratios with their 95 % intervals,
 * the machine's load, the printed tables, and the targets (reported, never asserted).
 */
import type { Measured } from './driver.js'
import type { Alg } from './jwt-node.js'
import {
  DISCOVERY_PATH,
  JWKS_PATH,
  LABELS,
  STORE_METHODS,
  type Contender,
  type PathCounts,
  type StoreCalls,
} from './protocol.js'
import { fmt, round, series, table, type Series } from './report.js'
import type { SessionSizes } from './sessions.js'
import { estimate, fmtEstimate, type Estimate } from './stats.js'

/** How a contender's warm-up ended: batches run, and whether CPU/op settled. */
export interface WarmUp {
  readonly batches: number
  readonly settled: boolean
  /** CPU µs/req of each warm-up batch, in order. */
  readonly cpuUsPerReq: readonly number[]
  /** Authorization server requests during the warm-up, by path. */
  readonly asCalls: PathCounts
  /** Authorization server requests per request in the last warm-up batch (JIT settled). */
  readonly lastAsCallsPerReq: PathCounts
}

export interface ContenderResult {
  label: string
  /** Requests per measured batch (chosen from the warm-up to give `--cpu-ms` of CPU). */
  n: number
  warmUp: WarmUp
  /** CPU µs per request (server process, all threads), median and 95 % interval over rounds. */
  cpuUsPerReq: Estimate
  /** Main thread only (Linux schedstat); the rest is threadpool crypto, GC and compiler threads. */
  mainUsPerReq: Series
  rps: Series
  /**
   * Authorization server requests per request, all paths, in the last warm-up batch (the
   * measured batches run two contenders at once, and the server's counts are of both).
   */
  asCallsPerReq: number
  /** Of which discovery and JWKS. */
  discoveryJwksCallsPerReq: number
  /** Session store round trips per measured request, by method (0 without express-session). */
  storeCallsPerReq: StoreCalls
  /** Their sum. */
  storeRoundTripsPerReq: number
  /** CPU µs/req of each measured slice, by round (each round's slices in the order they ran). */
  slicesByRound: number[][]
}

export interface Ratio {
  readonly top: Contender
  readonly bottom: Contender
  /** The estimate the targets are judged by: `overall`, or `low` with `--estimator low`. */
  readonly estimate: Estimate
  /** Per round: all of `top`'s slices' CPU per request over all of `bottom`'s. */
  readonly overall: Estimate
  /**
   * Per round: the low CPU/req of `top` over that of `bottom` (each side's second-lowest slice,
   * see `lowOf`).
   */
  readonly low: Estimate
  /** The target, if this ratio has one: `≤ value` or `> value`. */
  readonly target?: { readonly op: '<=' | '>'; readonly value: number }
}

export interface AlgResult {
  raw: Record<string, number>
  contenders: Partial<Record<Contender, ContenderResult>>
  ratios: Record<string, Ratio>
  sessions: Record<string, SessionSizes>
  /**
   * `--slow`: the CPU µs the slowed copy adds per callback as calibrated and as measured in place
   * (per callback, around the extra work), and the ratios these make against cb-fapi's measured
   * median (the in-place one is what `callback: patched or slowed / express-fapi` should read).
   */
  slowed?: { us: number; expectedRatio: number; inPlaceUs: number; inPlaceRatio: number }
  /** The order of the pairs (ratio names) in each round. */
  orders: string[][]
}

function sumCounts(counts: PathCounts, paths?: readonly string[]): number {
  return Object.entries(counts)
    .filter(([path]) => paths === undefined || paths.includes(path))
    .reduce((sum, [, count]) => sum + count, 0)
}

export function summarise(
  contender: Contender,
  n: number,
  warmUp: WarmUp,
  batches: readonly Measured[],
): ContenderResult {
  const store: StoreCalls = { get: 0, set: 0, destroy: 0, touch: 0 }
  let requests = 0
  for (const batch of batches) {
    requests += batch.n
    for (const method of STORE_METHODS) store[method] += batch.storeCalls[method]
  }
  const per = (value: number) => round(value / Math.max(1, requests), 3)
  return {
    label: LABELS[contender],
    n,
    warmUp,
    cpuUsPerReq: estimate(batches.map((b) => b.cpuUsPerReq)),
    mainUsPerReq: series(batches.map((b) => b.mainUsPerReq)),
    rps: series(batches.map((b) => b.rps)),
    asCallsPerReq: round(sumCounts(warmUp.lastAsCallsPerReq), 3),
    discoveryJwksCallsPerReq: round(
      sumCounts(warmUp.lastAsCallsPerReq, [DISCOVERY_PATH, JWKS_PATH]),
      3,
    ),
    storeCallsPerReq: {
      get: per(store.get),
      set: per(store.set),
      destroy: per(store.destroy),
      touch: per(store.touch),
    },
    storeRoundTripsPerReq: per(STORE_METHODS.reduce((sum, method) => sum + store[method], 0)),
    slicesByRound: batches.map((b) => (b.slices ?? [b.cpuUsPerReq]).map((v) => round(v, 1))),
  }
}

/** `4 (get 1, destroy 1, set 2)`: store round trips per request, the methods that were called. */
function storeCalls(c: ContenderResult): string {
  const used = STORE_METHODS.filter((method) => c.storeCallsPerReq[method] > 0)
  if (used.length === 0) return '0'
  const parts = used.map((method) => `${method} ${c.storeCallsPerReq[method]}`)
  return `${c.storeRoundTripsPerReq} (${parts.join(', ')})`
}

/** The full report of one algorithm: contenders, ratios with intervals, raw JWT cost, sessions. */
export function print(alg: Alg, r: AlgResult, rounds: number): void {
  console.log(`\n## ${alg} — CPU per request (${rounds} rounds; median [95 % interval])\n`)
  console.log(
    table(
      [
        'contender',
        'CPU µs/req',
        'main thread',
        'req/s',
        'n/batch',
        'warm-up',
        'AS calls/req (warm-up)',
        'store calls/req',
      ],
      Object.values(r.contenders).map((c) => [
        c.label,
        fmtEstimate(c.cpuUsPerReq, 0),
        fmt(c.mainUsPerReq),
        fmt(c.rps),
        String(c.n),
        `${c.warmUp.batches}${c.warmUp.settled ? '' : ' (not settled)'}`,
        String(c.asCallsPerReq),
        storeCalls(c),
      ]),
    ),
  )
  console.log(`\n## ${alg} — ratios of CPU/req (per round; median [95 % interval], ±half-width)\n`)
  console.log(
    table(
      ['ratio', 'all slices', '±', 'low slices', '±', 'rounds'],
      Object.entries(r.ratios).map(([name, v]) => [
        name,
        fmtEstimate(v.overall),
        `${(v.overall.halfWidth * 100).toFixed(1)} %`,
        fmtEstimate(v.low),
        `${(v.low.halfWidth * 100).toFixed(1)} %`,
        String(v.estimate.samples.length),
      ]),
    ),
  )
  if (r.slowed !== undefined) {
    console.log(
      `\n--slow: the slowed copy adds ${r.slowed.us.toFixed(0)} µs per callback as calibrated ` +
        `(${r.slowed.expectedRatio.toFixed(3)} × cb-fapi's median), ` +
        `${r.slowed.inPlaceUs.toFixed(0)} µs as measured in place: it should read ` +
        `${r.slowed.inPlaceRatio.toFixed(3)}`,
    )
  }
  console.log(`\n## ${alg} — raw JWT cost, CPU µs/op (one process, 4 in flight)\n`)
  console.log(
    table(
      ['operation', 'µs'],
      Object.entries(r.raw).map(([k, v]) => [k, v.toFixed(0)]),
    ),
  )
  const sessions = Object.entries(r.sessions)
  if (sessions.length > 0) {
    console.log(`\n## ${alg} — session data, bytes of JSON in the store\n`)
    console.log(
      table(
        ['', 'pending: session', 'pending: entry', '+1 pending', 'logged in: session', 'entry'],
        sessions.map(([name, s]) => [
          name,
          String(s.pendingSession),
          String(s.pendingEntry),
          String(s.perExtraPending),
          String(s.loggedInSession),
          String(s.loggedInEntry),
        ]),
      ),
    )
  }
}

/**
 * The targets, judged by the 95 % interval: met when the whole interval is on the right side,
 * missed when the whole interval is on the wrong side, undecided when it straddles the target.
 */
export function targets(results: Partial<Record<Alg, AlgResult>>): string[] {
  const lines: string[] = []
  for (const [alg, r] of Object.entries(results)) {
    for (const [name, ratio] of Object.entries(r.ratios)) {
      const { target, estimate: e } = ratio
      if (target === undefined) continue
      const good = target.op === '<=' ? e.hi <= target.value : e.lo > target.value
      const bad = target.op === '<=' ? e.lo > target.value : e.hi <= target.value
      const verdict = Number.isNaN(e.median) ? 'n/a' : good ? 'met' : bad ? 'NOT met' : 'undecided'
      const op = target.op === '<=' ? '≤' : '>'
      lines.push(
        `${verdict.padEnd(9)}  ${alg}: ${name} ${fmtEstimate(e)} (target ${op} ${target.value.toFixed(2)})`,
      )
    }
    const calls = r.contenders['login-fapi']?.asCallsPerReq
    if (calls !== undefined) {
      lines.push(
        `${(calls === 0 ? 'met' : 'NOT met').padEnd(9)}  ${alg}: network calls per login after warm-up: ${calls} (target 0)`,
      )
    }
    const entry = r.sessions['cb-fapi']?.perExtraPending
    if (entry !== undefined) {
      lines.push(
        `${(entry < 1024 ? 'met' : 'NOT met').padEnd(9)}  ${alg}: session bytes per pending login: ${entry} (target < 1024)`,
      )
    }
  }
  return lines
}
