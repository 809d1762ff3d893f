/**
 * Several instances behind a load balancer share sessions through connect-redis and a real
 * redis-server: a login started on instance A completes on instance B.
 */
import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, test } from 'node:test'
import { AppBrowser } from './support/app.js'
import { generateJwks } from './support/keys.js'
import { startProvider } from './support/provider.js'
import { redisMissing, startRedis } from './support/redis.js'
import { UserAgent } from './support/user-agent.js'

const missing = redisMissing()
if (missing !== false) console.log(`# skipping multi-instance tests: ${missing}`)

const cleanups: Array<() => Promise<void>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function startInstance(
  env: Record<string, string>,
): Promise<{ origin: string; child: ChildProcess }> {
  const child = fork(new URL('./support/instance.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  cleanups.push(async () => {
    if (child.exitCode !== null) return
    child.send('stop')
    await once(child, 'exit')
  })
  const [message] = (await once(child, 'message')) as [{ origin: string }]
  return { origin: message.origin, child }
}

/**
 * A load balancer that sends logins to instance A and everything else to B, and records which
 * instance served what. Its targets are set once the instances are up.
 */
async function startBalancer(): Promise<{
  origin: string
  served: string[]
  targets: { a: string; b: string }
}> {
  const served: string[] = []
  const targets = { a: '', b: '' }
  const server = createServer((req, res) => {
    const toA = (req.url ?? '').startsWith('/auth/login')
    const target = new URL(req.url ?? '/', toA ? targets.a : targets.b)
    served.push(`${toA ? 'A' : 'B'} ${req.method} ${target.pathname}`)
    const upstream = request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(async () => {
    server.closeAllConnections()
    server.close()
  })
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served, targets }
}

describe('many instances share sessions through connect-redis', { skip: missing }, () => {
  test('a login started on instance A completes on instance B', async () => {
    const redis = await startRedis()
    cleanups.push(() => redis.close())
    const keys = await generateJwks('PS256')

    // The balancer's origin is the public one that the server knows the client by.
    const balancer = await startBalancer()
    const publicOrigin = balancer.origin
    const redirectUri = `${publicOrigin}/auth/callback`
    const as = await startProvider({
      fapiProfile: '2.0',
      clients: [
        {
          clientId: 'portal',
          redirectUri,
          jwks: { keys: [keys.publicJwk] },
          profile: 'fapi2-message-signing',
          signingAlg: 'PS256',
        },
      ],
    })
    cleanups.push(() => as.close())
    const env = {
      REDIS_URL: redis.url,
      ISSUER: as.issuer,
      REDIRECT_URI: redirectUri,
      CLIENT_JWK: JSON.stringify(keys.privateJwk),
    }
    const [a, b] = await Promise.all([startInstance(env), startInstance(env)])

    balancer.targets.a = a.origin
    balancer.targets.b = b.origin

    const browser = new AppBrowser(publicOrigin)
    const authorizationUrl = await browser.startLogin('?returnTo=%2Faccount')
    const delivery = await new UserAgent().authorize(authorizationUrl, { redirectUri })
    const response = await browser.deliver(delivery)
    assert.equal(response.status, 200, await response.clone().text())
    assert.deepEqual(await response.json(), { sub: 'alice', returnTo: '/account' })
    assert.deepEqual(balancer.served, ['A GET /auth/login', 'B GET /auth/callback'])

    const me = await browser.request('/me')
    assert.deepEqual(await me.json(), { sub: 'alice' })
    assert.equal(as.requests('/token'), 1)
  })
})
