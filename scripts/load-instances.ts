/**
 * Load across instances: `npm run load:instances` runs 10,000 full logins (`LOAD_FLOWS`) against
 * two app processes that share one redis-server for sessions (connect-redis) and coordination
 * (`redisCoordination()`), the hostile test server standing in for the authorization server (it
 * counts every token request). Each login starts on one instance and completes on the other; the
 * first 1,000 (`LOAD_DUPLICATES`) responses are delivered to both instances at once. Reports
 * failures, double redemptions (token requests beyond one per login) and each instance's heap
 * before and after (after a forced GC). A bounded script: it asserts no time.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { AppBrowser } from '../test/support/app.js'
import { CLIENT_ID, clientKey } from '../test/support/hostile-fixture.js'
import { startHostileServer, type Delivery } from '../test/support/hostile-server.js'
import { startRedis } from '../test/support/redis.js'

const flows = Number(process.env.LOAD_FLOWS ?? 10_000)
const duplicates = Math.min(flows, Number(process.env.LOAD_DUPLICATES ?? 1_000))
const concurrency = Number(process.env.LOAD_CONCURRENCY ?? 8)

const redis = await startRedis()
const key = await clientKey('ES256')
const as = await startHostileServer({ clientId: CLIENT_ID, clientJwks: { keys: [key.publicJwk] } })
const env = {
  REDIS_URL: redis.url,
  COORDINATION_REDIS_URL: redis.url,
  ISSUER: as.issuer,
  REDIRECT_URI: 'http://127.0.0.1:1/auth/callback',
  CLIENT_JWK: JSON.stringify(key.privateJwk),
  HOSTILE: '1',
}
const children: ChildProcess[] = []
async function instance(): Promise<string> {
  const child = fork(new URL('../test/support/instance.ts', import.meta.url), {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.push(child)
  const [message] = (await once(child, 'message')) as [{ origin: string }]
  return message.origin
}
const origins = await Promise.all([instance(), instance()])

async function heaps(): Promise<number[]> {
  return Promise.all(
    children.map(async (child) => {
      child.send('heap')
      const [answer] = (await once(child, 'message')) as [{ heapMiB: number }]
      return answer.heapMiB
    }),
  )
}

function at(origin: string, delivery: Delivery): string {
  const url = new URL(delivery.url)
  url.host = new URL(origin).host
  return url.href
}

let loginsDone = 0
let duplicateAnswers = 0
async function oneLogin(index: number): Promise<void> {
  const [start, finish] = index % 2 === 0 ? origins : [...origins].reverse()
  const browser = new AppBrowser(start ?? '')
  const delivery = await as.authorize(await browser.startLogin())
  const targets = index < duplicates ? [finish ?? '', start ?? ''] : [finish ?? '']
  const answers = await Promise.all(targets.map((origin) => browser.request(at(origin, delivery))))
  await Promise.all(answers.map((answer) => answer.arrayBuffer()))
  const ok = answers.filter((answer) => answer.status === 200).length
  if (targets.length > 1) duplicateAnswers += targets.length
  if (ok !== 1) throw new Error(`${ok} logins for one response (${answers.map((a) => a.status)})`)
  loginsDone += 1
}

for (let i = 0; i < 50; i += 1) await oneLogin(duplicates + i)
const heapBefore = await heaps()
const tokensBefore = as.requests('/token')
const started = process.hrtime.bigint()
let next = 0
let failed = 0
const failures = new Map<string, number>()
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < flows) {
      const index = next
      next += 1
      try {
        await oneLogin(index)
      } catch (error) {
        failed += 1
        const reason = (error as Error).message.slice(0, 80)
        failures.set(reason, (failures.get(reason) ?? 0) + 1)
      }
    }
  }),
)
const seconds = Number(process.hrtime.bigint() - started) / 1e9
const tokenRequests = as.requests('/token') - tokensBefore
const heapAfter = await heaps()
console.log(
  JSON.stringify(
    {
      instances: origins.length,
      flows,
      concurrency,
      failed,
      failures: Object.fromEntries(failures),
      duplicateDeliveries: duplicateAnswers,
      tokenRequests,
      doubleRedemptions: tokenRequests - (flows - failed),
      serverViolations: as.violations().length,
      heapMiB: { before: heapBefore, after: heapAfter, gcForced: true },
      loginsPerSecond: Math.round(flows / seconds),
      loginsCompleted: loginsDone,
    },
    null,
    2,
  ),
)
for (const child of children) {
  child.send('stop')
  await once(child, 'exit')
}
await as.close()
await redis.close()
process.exit(failed === 0 && tokenRequests === flows ? 0 : 1)
