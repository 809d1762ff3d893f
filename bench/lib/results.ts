/**
 * The results of a run: per-contender summaries, per-round ratios, the printed tables and the
 * targets (reported, never asserted).
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

export interface ContenderResult {
  label: string
  cpuUsPerReq: Series
  /** Main thread only (Linux schedstat); the rest is threadpool crypto, GC and compiler threads. */
  mainUsPerReq: Series
  rps: Series
  /** Authorization server requests per measured request, all paths. */
  asCallsPerReq: number
  /** Of which discovery and JWKS. */
  discoveryJwksCallsPerReq: number
  asCallsByPath: PathCounts
  warmupAsCalls: PathCounts
  /** Session store round trips per measured request, by method (0 without express-session). */
  storeCallsPerReq: StoreCalls
  /** Their sum. */
  storeRoundTripsPerReq: number
  loginSetCookieBytes?: number
}

export interface AlgResult {
  raw: Record<string, number>
  login: Partial<Record<Contender, ContenderResult>>
  callback: Partial<Record<Contender, ContenderResult>>
  ratios: Record<string, Series>
  sessions: Record<string, SessionSizes>
}

function sumCounts(counts: PathCounts, paths?: readonly string[]): number {
  return Object.entries(counts)
    .filter(([path]) => paths === undefined || paths.includes(path))
    .reduce((sum, [, count]) => sum + count, 0)
}

export function summarise(
  contender: Contender,
  batches: Measured[],
  warmup: PathCounts,
): ContenderResult {
  const total: PathCounts = {}
  const store: StoreCalls = { get: 0, set: 0, destroy: 0, touch: 0 }
  let n = 0
  for (const batch of batches) {
    n += batch.n
    for (const method of STORE_METHODS) store[method] += batch.storeCalls[method]
    for (const [path, count] of Object.entries(batch.asCalls))
      total[path] = (total[path] ?? 0) + count
  }
  return {
    label: LABELS[contender],
    cpuUsPerReq: series(batches.map((b) => b.cpuUsPerReq)),
    mainUsPerReq: series(batches.map((b) => b.mainUsPerReq)),
    rps: series(batches.map((b) => b.rps)),
    asCallsPerReq: round(sumCounts(total) / n, 4),
    discoveryJwksCallsPerReq: round(sumCounts(total, [DISCOVERY_PATH, JWKS_PATH]) / n, 4),
    asCallsByPath: total,
    warmupAsCalls: warmup,
    storeCallsPerReq: {
      get: round(store.get / n, 3),
      set: round(store.set / n, 3),
      destroy: round(store.destroy / n, 3),
      touch: round(store.touch / n, 3),
    },
    storeRoundTripsPerReq: round(
      STORE_METHODS.reduce((sum, method) => sum + store[method], 0) / n,
      3,
    ),
  }
}

export function ratio(
  batches: Partial<Record<Contender, Measured[]>>,
  top: Contender,
  bottom: Contender,
): Series | undefined {
  const a = batches[top]
  const b = batches[bottom]
  if (a === undefined || b === undefined) return undefined
  return series(a.map((batch, i) => batch.cpuUsPerReq / (b[i]?.cpuUsPerReq ?? Number.NaN)))
}

/** `4 (get 1, destroy 1, set 2)`: store round trips per request, the methods that were called. */
function storeCalls(c: ContenderResult): string {
  const used = STORE_METHODS.filter((method) => c.storeCallsPerReq[method] > 0)
  if (used.length === 0) return '0'
  const parts = used.map((method) => `${method} ${c.storeCallsPerReq[method]}`)
  return `${c.storeRoundTripsPerReq} (${parts.join(', ')})`
}

export function print(
  alg: Alg,
  r: AlgResult,
  settings: { rounds: number; n: number; cbN: number },
): void {
  const rows = (section: Partial<Record<Contender, ContenderResult>>) =>
    Object.values(section).map((c) => [
      c.label,
      fmt(c.cpuUsPerReq),
      fmt(c.mainUsPerReq),
      fmt(c.rps),
      String(c.asCallsPerReq),
      String(c.discoveryJwksCallsPerReq),
      storeCalls(c),
    ])
  const header = [
    '',
    'CPU µs/req',
    'main thread',
    'req/s',
    'AS calls/req',
    'disc+JWKS/req',
    'store calls/req',
  ]
  console.log(`\n## ${alg} — login (${settings.rounds} rounds × ${settings.n} requests)\n`)
  console.log(table(['login', ...header.slice(1)], rows(r.login)))
  console.log(`\n## ${alg} — callback (${settings.rounds} rounds × ${settings.cbN} requests)\n`)
  console.log(table(['callback', ...header.slice(1)], rows(r.callback)))
  console.log(`\n## ${alg} — ratios of CPU/req (per round; median, min–max)\n`)
  console.log(
    table(
      ['ratio', 'value'],
      Object.entries(r.ratios).map(([k, v]) => [k, fmt(v, 3)]),
    ),
  )
  console.log(`\n## ${alg} — raw JWT cost, CPU µs/op (one process, 4 in flight)\n`)
  console.log(
    table(
      ['operation', 'µs'],
      Object.entries(r.raw).map(([k, v]) => [k, v.toFixed(0)]),
    ),
  )
  console.log(`\n## ${alg} — session data, bytes of JSON in the store\n`)
  console.log(
    table(
      [
        '',
        'pending: session',
        'pending: entry',
        '+1 pending',
        'logged in: session',
        'entry',
        'Set-Cookie',
      ],
      Object.entries(r.sessions).map(([name, s]) => [
        name,
        String(s.pendingSession),
        String(s.pendingEntry),
        String(s.perExtraPending),
        String(s.loggedInSession),
        String(s.loggedInEntry),
        String(s.loginSetCookieBytes),
      ]),
    ),
  )
  const eocCookie = r.login['login-eoc']?.loginSetCookieBytes
  if (eocCookie !== undefined) {
    console.log(
      `express-openid-connect keeps its transaction in cookies: ${eocCookie} bytes of Set-Cookie`,
    )
  }
}

export function targets(results: Partial<Record<Alg, AlgResult>>): string[] {
  const lines: string[] = []
  for (const [alg, r] of Object.entries(results)) {
    const get = (name: string) => r.ratios[name]?.median ?? Number.NaN
    const check = (ok: boolean, text: string) =>
      lines.push(
        `${text.includes('NaN') ? 'n/a    ' : ok ? 'met    ' : 'NOT met'}  ${alg}: ${text}`,
      )
    const login = get('login: express-fapi / node-crypto floor')
    check(login <= 1.05, `login CPU/req ${login.toFixed(3)} × node-crypto floor (target ≤ 1.05)`)
    const cb = get('callback: express-fapi / node-crypto floor')
    check(cb <= 1.1, `callback CPU/req ${cb.toFixed(3)} × node-crypto floor (target ≤ 1.10)`)
    for (const anchor of ['openid-client', 'express-openid-connect']) {
      const value = get(`login: ${anchor} / express-fapi`)
      check(value > 1, `${anchor} uses ${value.toFixed(3)} × our CPU per login (target > 1)`)
    }
    const calls = r.login['login-fapi']?.asCallsPerReq ?? Number.NaN
    check(calls === 0, `network calls per login after warm-up: ${calls} (target 0)`)
    for (const contender of ['cb-fapi', 'cb-connect', 'cb-node'] as const) {
      const c = r.callback[contender]
      if (c !== undefined) {
        lines.push(`         ${alg}: ${c.label}: ${storeCalls(c)} store round trips per callback`)
      }
    }
    const entry = r.sessions['cb-fapi']?.perExtraPending ?? Number.NaN
    check(entry < 1024, `session bytes per pending login: ${entry} (target < 1024)`)
  }
  return lines
}
