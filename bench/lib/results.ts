/**
 * The results of a run: per-contender summaries, per-round ratios, the printed tables and the
 * targets (reported, never asserted).
 */
import type { Measured } from './driver.js'
import type { Alg } from './jwt-node.js'
import { DISCOVERY_PATH, JWKS_PATH, LABELS, type Contender, type PathCounts } from './protocol.js'
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
  let n = 0
  for (const batch of batches) {
    n += batch.n
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
    ])
  const header = ['', 'CPU µs/req', 'main thread', 'req/s', 'AS calls/req', 'disc+JWKS/req']
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
    check(login <= 1.1, `login CPU/req ${login.toFixed(3)} × node-crypto floor (target ≤ 1.10)`)
    const cb = get('callback: express-fapi / node-crypto floor')
    check(cb <= 1.15, `callback CPU/req ${cb.toFixed(3)} × node-crypto floor (target ≤ 1.15)`)
    for (const anchor of ['openid-client', 'express-openid-connect']) {
      const value = get(`login: ${anchor} / express-fapi`)
      check(value > 1, `${anchor} uses ${value.toFixed(3)} × our CPU per login (target > 1)`)
    }
    const calls = r.login['login-fapi']?.asCallsPerReq ?? Number.NaN
    check(calls === 0, `network calls per login after warm-up: ${calls} (target 0)`)
    const entry = r.sessions['cb-fapi']?.perExtraPending ?? Number.NaN
    check(entry < 1024, `session bytes per pending login: ${entry} (target < 1024)`)
  }
  return lines
}
