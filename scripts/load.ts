/**
 * Load: `npm run load` runs 10,000 full logins (login -> real oidc-provider with its own login and
 * consent pages -> callback) with bounded concurrency on loopback, then reports failures and the
 * heap before and after (after a forced GC). `LOAD_FLOWS` and `LOAD_CONCURRENCY` change the size.
 * A bounded script, not a timed test: it asserts no time.
 */
import session from 'express-session'
import { AppBrowser, startApp } from '../test/support/app.js'
import { generateJwks } from '../test/support/keys.js'
import { startProvider, type StartedProvider } from '../test/support/provider.js'
import { UserAgent } from '../test/support/user-agent.js'

const flows = Number(process.env.LOAD_FLOWS ?? 10_000)
const concurrency = Number(process.env.LOAD_CONCURRENCY ?? 8)
const gc = (globalThis as { gc?: () => void }).gc

function heapMiB(): number {
  gc?.()
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10
}

const keys = await generateJwks('ES256')
let as: StartedProvider | undefined
const store = new session.MemoryStore()
const app = await startApp({
  store,
  client: async ({ redirectUri }) => {
    as = await startProvider({
      fapiProfile: '2.0',
      clients: [
        {
          clientId: 'portal',
          redirectUri,
          jwks: { keys: [keys.publicJwk] },
          profile: 'fapi2-message-signing',
          signingAlg: 'ES256',
        },
      ],
    })
    return {
      issuer: as.issuer,
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
const tokenRequests = as?.requests('/token')
await as?.close()
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
