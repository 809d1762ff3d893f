/**
 * `node --import tsx bench/profile.ts [--alg PS256] [--n 3000] [--cb-n 1500] [--page-n 20000]
 * [--contenders login-fapi,…]`: where the time goes. Runs express-fapi's login, callback and
 * authenticated page, and the floors for comparison, each
 * in a server process started with `node --cpu-prof`, and summarises the samples taken inside the
 * measured batches only (warm-up and callback preparation excluded): self time by origin, the
 * top functions, and the on-stack time of express-fapi's own functions.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { summarise, readProfile, type ProfileSummary } from './lib/cpuprofile.js'
import {
  callbacks,
  killAll,
  logins,
  measureCallbacks,
  measureLogins,
  measurePages,
  pages,
  prepareCallbacks,
  prepareLoggedIn,
  startApp,
  startAuthorizationServer,
  startRpProcess,
  stopAll,
  type Measured,
} from './lib/driver.js'
import { ALGS, generateJwkPair, type Alg } from './lib/jwt-node.js'
import { CONTENDERS, isAuth, type Contender } from './lib/protocol.js'
import { table, writeJson } from './lib/report.js'

const { values: args } = parseArgs({
  options: {
    alg: { type: 'string', default: 'PS256' },
    n: { type: 'string', default: '3000' },
    'cb-n': { type: 'string', default: '1500' },
    'page-n': { type: 'string', default: '20000' },
    contenders: { type: 'string' },
    'fapi-src': { type: 'string' },
    dir: { type: 'string' },
  },
})
const alg = args.alg as Alg
if (!ALGS.includes(alg)) throw new Error(`unknown alg ${String(args.alg)}`)
const n = Math.min(50_000, Math.max(10, Number(args.n)))
const cbN = Math.min(20_000, Math.max(10, Number(args['cb-n'])))
const pageN = Math.min(200_000, Math.max(10, Number(args['page-n'])))
const chunk = 250
/** Warm-up batches of `chunk` requests (2,000 pages) before the measured ones. */
const WARM_UP = 16
const concurrency = 8
const fapiSrc = args['fapi-src'] ?? fileURLToPath(new URL('../src', import.meta.url))
const dir = args.dir ?? fileURLToPath(new URL('profiles', import.meta.url))
mkdirSync(dir, { recursive: true })

const watchdog = setTimeout(() => {
  console.error('profile: watchdog expired, stopping')
  killAll()
  process.exit(2)
}, 15 * 60_000)
watchdog.unref()
process.on('SIGINT', () => {
  killAll()
  process.exit(130)
})

const contenders = (
  args.contenders ?? 'login-fapi,login-node,cb-fapi,cb-node,auth-fapi,auth-bare'
).split(',') as Contender[]
for (const contender of contenders) {
  if (!CONTENDERS.includes(contender)) throw new Error(`unknown contender ${contender}`)
}

async function main(): Promise<void> {
  const as = await startAuthorizationServer()
  const clientId = `bench-${alg.toLowerCase()}`
  const { privateJwk, publicJwk } = generateJwkPair(alg, `${clientId}-key`)
  await as.child.call('client', { clientId, publicJwk })
  // One directory per server: tsx's module hooks run in a worker thread, which --cpu-prof
  // profiles too; the main thread's profile is the one with thread id 0 in its name.
  const dirs = new Map<Contender, string>()
  const rps = await Promise.all(
    contenders.map((contender) => {
      const own = join(dir, `${contender}-${alg}`)
      rmSync(own, { recursive: true, force: true })
      mkdirSync(own, { recursive: true })
      dirs.set(contender, own)
      return startRpProcess(contender, ['--cpu-prof', `--cpu-prof-dir=${own}`])
    }),
  )
  const options = { alg, issuer: as.issuer, clientId, privateJwk, fapiSrc, concurrency }
  const measured = new Map<Contender, Measured[]>()
  const mint = { alg, clientId }
  for (const process of rps) {
    const rp = await startApp(process, options)
    const batches: Measured[] = []
    // The warm-up: a server's CPU per request falls over its first thousands of requests (see
    // the bench's warm-up), so each warms up with WARM_UP batches from empty stores first.
    const reset = (keep = false) => rp.child.call('reset', { keep })
    if (isAuth(rp.contender)) {
      const cookies = await prepareLoggedIn(rp, as, 16, concurrency, mint)
      for (let i = 0; i < WARM_UP; i++) await pages(rp, cookies, 2000, concurrency)
      await reset(true)
      batches.push(await measurePages(rp, as, cookies, pageN, concurrency))
    } else if (rp.started.callbackPath === null) {
      for (let i = 0; i < WARM_UP; i++) {
        await reset()
        await logins(rp, chunk, concurrency)
      }
      for (let done = 0; done < n; done += chunk) {
        await reset()
        batches.push(await measureLogins(rp, as, Math.min(chunk, n - done), concurrency))
      }
    } else {
      for (let i = 0; i < WARM_UP; i++) {
        await reset()
        await callbacks(rp, await prepareCallbacks(rp, as, chunk, concurrency, mint), concurrency)
      }
      for (let done = 0; done < cbN; done += chunk) {
        await reset()
        const prepared = await prepareCallbacks(
          rp,
          as,
          Math.min(chunk, cbN - done),
          concurrency,
          mint,
        )
        batches.push(await measureCallbacks(rp, as, prepared, concurrency))
      }
    }
    measured.set(rp.contender, batches)
    rp.load.close()
    console.error(`profiled ${rp.contender}`)
  }
  await stopAll() // the servers exit with process.exit(0), which writes their profiles

  const summaries: Record<string, Summary> = {}
  for (const contender of contenders) {
    const own = dirs.get(contender)!
    const name = readdirSync(own).find((file) =>
      /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(file),
    )
    if (name === undefined) throw new Error(`no main-thread profile in ${own}`)
    const file = join(own, name)
    const batches = measured.get(contender) ?? []
    const requests = batches.reduce((sum, b) => sum + b.n, 0)
    const perReq = (pick: (b: Measured) => number) =>
      Math.round(batches.reduce((sum, b) => sum + pick(b) * b.n, 0) / requests)
    const summary = summarise(
      readProfile(file),
      batches.map((b) => b.window),
      requests,
      fapiSrc,
    )
    summaries[contender] = {
      cpuUsPerReq: perReq((b) => b.cpuUsPerReq),
      mainUsPerReq: perReq((b) => b.mainUsPerReq),
      mainWaitUsPerReq: perReq((b) => b.mainWaitUsPerReq),
      ...summary,
    }
    print(contender, requests, summaries[contender])
  }
  const out = join(dir, `summary-${alg}.json`)
  await writeJson(out, { alg, n, cbN, fapiSrc, summaries })
  console.log(`\nwrote ${out}`)
}

type Summary = ProfileSummary & {
  cpuUsPerReq: number
  mainUsPerReq: number
  mainWaitUsPerReq: number
}

function print(contender: Contender, requests: number, s: Summary) {
  console.log(`\n## ${contender} ${alg}: ${requests} requests`)
  console.log(
    `CPU µs/req: process ${s.cpuUsPerReq} = main thread ${s.mainUsPerReq} + other threads ` +
      `${s.cpuUsPerReq - s.mainUsPerReq} (threadpool crypto, GC, compiler). The main thread also ` +
      `waited ${s.mainWaitUsPerReq} µs/req for a CPU; the profile samples wall time (${s.busyUs} ` +
      `µs/req not idle), so that wait lands on whatever ran before it, typically the call that ` +
      `woke a threadpool thread.\n`,
  )
  const categories = Object.entries(s.categories).map(([name, us]) => [
    name,
    us.toFixed(1),
    `${((us / s.busyUs) * 100).toFixed(1)} %`,
  ])
  console.log(table(['main-thread self time by origin', 'µs/req', 'share'], categories))
  console.log('')
  console.log(
    table(
      ['top functions (self)', 'µs/req', 'origin', 'where'],
      s.top.slice(0, 20).map((f) => [f.name, f.selfUs.toFixed(1), f.category, f.where]),
    ),
  )
  if (s.oursInclusive.length > 0) {
    console.log('')
    console.log(
      table(
        ['express-fapi functions (on stack)', 'µs/req', 'where'],
        s.oursInclusive.slice(0, 15).map((f) => [f.name, f.selfUs.toFixed(1), f.where]),
      ),
    )
  }
}

main().then(
  () => clearTimeout(watchdog),
  (error: unknown) => {
    console.error(error)
    killAll()
    process.exitCode = 1
  },
)
