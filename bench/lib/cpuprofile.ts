/**
 * Reading `node --cpu-prof` profiles: self time per function and per origin (our sources, jose,
 * express-session, express and other dependencies, undici, Node's own JavaScript, native code,
 * GC), restricted to the measured windows of a run. The profile's timestamps and
 * `process.hrtime` share one monotonic clock, so windows taken inside the server line up.
 *
 * A profile sees the main thread only: signatures computed in the libuv threadpool (Node's async
 * `crypto.sign`, WebCrypto) are in `process.cpuUsage()` but not here.
 */
import { readFileSync } from 'node:fs'

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: readonly number[]
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly startTime: number
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
}

/** Where a function comes from. `ours` is the directory of express-fapi's sources. */
export function categoryOf(frame: CallFrame, ours: string): string {
  const { url, functionName } = frame
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC'
    if (functionName === '(idle)') return 'idle'
    if (functionName === '(program)') return 'V8/native (program)'
    return 'native builtins'
  }
  if (url.includes(ours)) return 'express-fapi (src)'
  if (url.includes('/node_modules/jose/')) return 'jose'
  if (url.includes('/node_modules/express-session/')) return 'express-session'
  if (url.includes('/node_modules/')) return 'express & other deps'
  if (url.includes('/bench/')) return 'bench harness'
  if (url.startsWith('node:internal/deps/undici')) return 'undici (fetch)'
  if (url.startsWith('node:')) return 'node core (JS)'
  return 'other'
}

export interface FunctionTime {
  readonly name: string
  readonly where: string
  readonly category: string
  /** Microseconds per request. */
  readonly selfUs: number
}

export interface ProfileSummary {
  /** Main-thread microseconds per request that were not idle. */
  readonly busyUs: number
  /** Self time per category, microseconds per request, idle excluded. */
  readonly categories: Record<string, number>
  /** The functions with the most self time. */
  readonly top: readonly FunctionTime[]
  /** Inclusive time of our own functions (on-stack time, synchronous parts only). */
  readonly oursInclusive: readonly FunctionTime[]
}

function shortUrl(url: string): string {
  const markers = ['/node_modules/', '/src/', '/bench/']
  for (const marker of markers) {
    const at = url.lastIndexOf(marker)
    if (at !== -1) return url.slice(at + 1)
  }
  return url.replace(/^node:internal\//, 'node:')
}

/**
 * Summarises the samples inside `windows` (µs, process.hrtime clock), per request over
 * `requests` requests in total.
 */
export function summarise(
  profile: CpuProfile,
  windows: readonly (readonly [number, number])[],
  requests: number,
  ours: string,
  topN = 25,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id)
  const key = (frame: CallFrame) =>
    `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}`

  const self = new Map<string, { frame: CallFrame; us: number }>()
  const inclusive = new Map<string, { frame: CallFrame; us: number }>()
  const categories: Record<string, number> = {}
  let busy = 0
  let time = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0
    if (!windows.some(([from, to]) => time >= from && time <= to)) continue
    const duration = profile.timeDeltas[i + 1] ?? 0
    const node = byId.get(profile.samples[i]!)
    if (node === undefined) continue
    const category = categoryOf(node.callFrame, ours)
    if (category === 'idle') continue
    busy += duration
    categories[category] = (categories[category] ?? 0) + duration
    const k = key(node.callFrame)
    const entry = self.get(k) ?? { frame: node.callFrame, us: 0 }
    entry.us += duration
    self.set(k, entry)
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame
      if (frame === undefined || !frame.url.includes(ours)) continue
      const fk = key(frame)
      if (seen.has(fk)) continue
      seen.add(fk)
      const acc = inclusive.get(fk) ?? { frame, us: 0 }
      acc.us += duration
      inclusive.set(fk, acc)
    }
  }
  const perRequest = (us: number) => Math.round((us / requests) * 10) / 10
  const rows = (map: Map<string, { frame: CallFrame; us: number }>) =>
    [...map.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map(({ frame, us }) => ({
        name: frame.functionName || '(anonymous)',
        where: `${shortUrl(frame.url)}${frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : ''}`,
        category: categoryOf(frame, ours),
        selfUs: perRequest(us),
      }))
  return {
    busyUs: perRequest(busy),
    categories: Object.fromEntries(
      Object.entries(categories)
        .sort((a, b) => b[1] - a[1])
        .map(([name, us]) => [name, perRequest(us)]),
    ),
    top: rows(self),
    oursInclusive: rows(inclusive),
  }
}
