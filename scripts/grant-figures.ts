/**
 * The grant figures of docs/engineering/performance.md, measured: `node --import tsx scripts/grant-figures.ts`
 * runs one Express app with `fapiClients()` over three hostile servers as banks (loopback) and
 * prints (1) the session's bytes in express-session's memory store with one and with three
 * linked banks, and (2) the grant store calls (a counting wrapper around the real memory store)
 * of an authenticated request, a callback, a refresh and a logout. A bounded script: it asserts
 * nothing and times nothing.
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import session from 'express-session'
import {
  errorHandler,
  fapiClients,
  memoryGrantStore,
  type FapiClientOptions,
  type GrantStore,
} from '../src/index.js'
import { AppBrowser } from '../test/support/app.js'
import { startHostileServer } from '../test/support/hostile-server.js'
import { generateJwks } from '../test/support/keys.js'

const NAMES = ['bank-a', 'bank-b', 'bank-c'] as const

/** The real memory store, its calls counted by method. */
function countingStore(inner: GrantStore): { store: GrantStore; take(): Record<string, number> } {
  let counts: Record<string, number> = {}
  const count = (name: string) => (counts[name] = (counts[name] ?? 0) + 1)
  const store: GrantStore = {
    get: (id) => (count('get'), inner.get(id)),
    create: (record) => (count('create'), inner.create(record)),
    update: (record, generation) => (count('update'), inner.update(record, generation)),
    end: (id, endedAt, keepUntil) => (count('end'), inner.end(id, endedAt, keepUntil)),
    find: (query) => (count('find'), inner.find(query)),
  }
  return {
    store,
    take() {
      const taken = counts
      counts = {}
      return taken
    },
  }
}

const server = createServer().listen(0, '127.0.0.1')
await once(server, 'listening')
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const key = await generateJwks('ES256', 'figures')
const banks = await Promise.all(
  NAMES.map(() =>
    startHostileServer({ clientId: 'portal', clientJwks: { keys: [key.publicJwk] }, alg: 'ES256' }),
  ),
)
const counting = countingStore(memoryGrantStore())
const options = (issuer: string): FapiClientOptions => ({
  issuer,
  clientId: 'portal',
  redirectUri: `${origin}/auth/callback`,
  keys: { signing: [key.privateJwk] },
  senderConstraint: 'none',
  allowInsecureLoopback: true,
  grants: counting.store,
})
const clients = fapiClients(
  Object.fromEntries(NAMES.map((name, index) => [name, options(banks[index]!.issuer)])),
  { identity: 'bank-a' },
)
const sessions = new session.MemoryStore()
const app = express()
app.use(session({ secret: 'figures', resave: false, saveUninitialized: false, store: sessions }))
app.use(clients.router({ callback: (_req, res) => void res.json({ ok: true }) }))
const bankA = clients.client('bank-a')
app.get('/me', bankA.requiresAuth(), (req, res, next) => {
  bankA.currentLogin(req).then((login) => res.json({ sub: login?.claims.sub }), next)
})
app.post('/refresh', (req, res, next) => {
  bankA.refresh(req).then(() => res.json({}), next)
})
app.post('/auth/logout', bankA.logout())
app.use(errorHandler())
server.on('request', app)

const browser = new AppBrowser(origin)
async function link(index: number): Promise<void> {
  const name = NAMES[index]!
  const started = await browser.request(`/auth/login?server=${name}`)
  const delivery = await banks[index]!.authorize(started.headers.get('location') ?? '')
  const answer = await browser.deliver(delivery)
  if (answer.status !== 200) throw new Error(`${name}: ${answer.status} ${await answer.text()}`)
}
function sessionBytes(): Promise<number> {
  return new Promise((resolve, reject) => {
    sessions.all((error, all) => {
      if (error) return reject(error as Error)
      const values = Object.values(all ?? {})
      if (values.length !== 1) return reject(new Error(`${values.length} sessions`))
      resolve(Buffer.byteLength(JSON.stringify(values[0])))
    })
  })
}

counting.take()
await link(0)
const callback = counting.take()
const one = await sessionBytes()
await link(1)
const callbackLink = counting.take()
await link(2)
counting.take()
const three = await sessionBytes()
await browser.request('/me')
const authenticated = counting.take()
await browser.request('/refresh', { method: 'POST' })
const refresh = counting.take()
await browser.request('/auth/logout', { method: 'POST' })
const logout = counting.take()

console.log(`session JSON with 1 linked bank: ${one} bytes; with 3: ${three} bytes`)
console.log(`per linked bank: ${(three - one) / 2} bytes`)
console.log('grant store calls, by method:')
console.log(
  `  authenticated request (requiresAuth + currentLogin): ${JSON.stringify(authenticated)}`,
)
console.log(`  callback at the identity bank: ${JSON.stringify(callback)}`)
console.log(`  callback linking another bank: ${JSON.stringify(callbackLink)}`)
console.log(`  refresh: ${JSON.stringify(refresh)}`)
console.log(`  logout with 3 linked banks: ${JSON.stringify(logout)}`)

server.closeAllConnections()
server.close()
await Promise.all(banks.map((bank) => bank.close()))
