/**
 * Load: `npm run load` runs 10,000 full logins (login -> real oidc-provider with its own login and
 * consent pages -> callback) with bounded concurrency on loopback, then reports failures and the
 * heap before and after (after a forced GC). `LOAD_FLOWS` and `LOAD_CONCURRENCY` change the size.
 * A bounded script, not a timed test: it asserts no time.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import session from 'express-session'
import { AppBrowser, startApp } from '../test/support/app.js'
import { generateJwks } from '../test/support/keys.js'
import { UserAgent } from '../test/support/user-agent.js'

const flows = Number(process.env.LOAD_FLOWS ?? 10_000)
const concurrency = Number(process.env.LOAD_CONCURRENCY ?? 8)
const gc = (globalThis as { gc?: () => void }).gc

function heapMiB(): number {
  gc?.()
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10
}

const keys = await generateJwks('ES256')
// The server runs in its own process, so the heap figures are the app's alone.
const server = fork(new URL('./provider-process.ts', import.meta.url), {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
async function ask<T>(message: string): Promise<T> {
  server.send(message)
  const [answer] = (await once(server, 'message')) as [T]
  return answer
}
const store = new session.MemoryStore()
const app = await startApp({
  store,
  client: async ({ redirectUri }) => {
    server.send({ redirectUri, publicJwk: keys.publicJwk })
    const [{ issuer }] = (await once(server, 'message')) as [{ issuer: string }]
    return {
      issuer,
      clientId: 'portal',
      redirectUri,
      keys: { signing: [keys.privateJwk] },
      allowInsecureLoopback: true,
    }
  },
})

async function oneLogin(): Promise<void> {
  const browser = new AppBrowser(app.origin)
  const delivery = await new UserAgent().authorize(await browser.startLogin(), {
    redirectUri: app.redirectUri,
  })
  const response = await browser.deliver(delivery)
  if (response.status !== 200) throw new Error(`callback answered ${response.status}`)
  await response.arrayBuffer()
  app.logins.length = 0 // the test app records logins; a load run must not keep them
}

// Warm up (discovery, JWKS, JIT) before the first heap reading.
for (let i = 0; i < 50; i += 1) await oneLogin()
const heapBefore = heapMiB()
const started = process.hrtime.bigint()
let next = 0
let failed = 0
const failures = new Map<string, number>()
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < flows) {
      next += 1
      try {
        await oneLogin()
      } catch (error) {
        failed += 1
        const key = (error as Error).message.slice(0, 80)
        failures.set(key, (failures.get(key) ?? 0) + 1)
      }
    }
  }),
)
const seconds = Number(process.hrtime.bigint() - started) / 1e9
const heapAfter = heapMiB()
const sessions = await new Promise<number>((resolve) =>
  store.length((_error: unknown, length?: number) => resolve(length ?? -1)),
)
// What remains once the stores (every user's session, the server's grants) are gone is ours.
await new Promise<void>((resolve) => store.clear(() => resolve()))
const { tokens: tokenRequests } = await ask<{ tokens: number }>('tokens')
server.send('stop')
await once(server, 'exit')
const heapWithoutStores = heapMiB()
console.log(
  JSON.stringify(
    {
      flows,
      concurrency,
      failed,
      failures: Object.fromEntries(failures),
      tokenRequests,
      sessionsInStore: sessions,
      heapMiB: {
        before: heapBefore,
        after: heapAfter,
        afterStoresCleared: heapWithoutStores,
        gcForced: gc !== undefined,
      },
      loginsPerSecond: Math.round(flows / seconds),
      unexpectedErrors: app.unexpectedErrors.length,
    },
    null,
    2,
  ),
)
await app.close()
process.exit(failed === 0 && app.unexpectedErrors.length === 0 ? 0 : 1)
