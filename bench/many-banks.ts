/**
 * Banks resolved on demand, at scale: `fapiClients(resolve)` with 1,000 banks.
 *
 * The banks are one small authorization server in a child process (so its CPU is not counted for
 * the relying party), with one issuer per path (`http://127.0.0.1:<port>/b<i>`), each with its own
 * ES256 key: discovery, JWKS, an authorization endpoint that answers at once with a plain `query`
 * response (RFC 9207 `iss`), and a token endpoint that checks the PKCE verifier and answers with
 * an ID token. The relying party is a real Express app with express-session; each login is the
 * whole path: `GET /auth/login?server=bank-<i>`, the authorization endpoint, the callback (token
 * request, ID token checks, the grant stored).
 *
 * Reports: the time `fapiClients(resolve)` takes, the time to create every bank on first use
 * (discovery and JWKS of each), the heap per created bank (after GC), and the relying party's CPU
 * per login at bank #1 and at bank #1,000 once all are created (rounds interleaved).
 *
 * Run: `npm run bench:banks` (`--banks N`, `--logins N` per bank and round).
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import express from 'express'
import session from 'express-session'
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose'
import { fapiClients, type FapiClientOptions } from '../src/index.js'

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`)
  const value = index < 0 ? undefined : Number(process.argv[index + 1])
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback
}

// ---- the banks: one authorization server process, one issuer per path -------------------------

async function serveBanks(): Promise<void> {
  type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']
  const keys = new Map<string, { privateKey: PrivateKey; jwk: JWK }>()
  const codes = new Map<string, { challenge: string; nonce: string; issuer: string }>()
  async function keyOf(bank: string) {
    let key = keys.get(bank)
    if (key === undefined) {
      const pair = await generateKeyPair('ES256', { extractable: true })
      const jwk = {
        ...(await exportJWK(pair.publicKey)),
        kid: `${bank}-k1`,
        alg: 'ES256',
        use: 'sig',
      }
      key = { privateKey: pair.privateKey, jwk }
      keys.set(bank, key)
    }
    return key
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://bank.invalid')
      const [, bank = '', ...rest] = url.pathname.split('/')
      const path = `/${rest.join('/')}`
      const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${bank}`
      const json = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      }
      if (path === '/.well-known/openid-configuration') {
        json({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          scopes_supported: ['openid'],
          response_types_supported: ['code'],
          response_modes_supported: ['query'],
          grant_types_supported: ['authorization_code'],
          subject_types_supported: ['public'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
          token_endpoint_auth_signing_alg_values_supported: ['ES256'],
          id_token_signing_alg_values_supported: ['ES256'],
          authorization_response_iss_parameter_supported: true,
        })
        return
      }
      if (path === '/jwks') {
        json({ keys: [(await keyOf(bank)).jwk] })
        return
      }
      if (path === '/authorize') {
        const code = randomBytes(16).toString('base64url')
        codes.set(code, {
          challenge: url.searchParams.get('code_challenge') ?? '',
          nonce: url.searchParams.get('nonce') ?? '',
          issuer,
        })
        const target = new URL(url.searchParams.get('redirect_uri') ?? '')
        target.searchParams.set('code', code)
        target.searchParams.set('state', url.searchParams.get('state') ?? '')
        target.searchParams.set('iss', issuer)
        res.writeHead(303, { location: target.href }).end()
        return
      }
      if (path === '/token' && req.method === 'POST') {
        let body = ''
        for await (const chunk of req) body += String(chunk)
        const form = new URLSearchParams(body)
        const grant = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '')
        const verifier = form.get('code_verifier') ?? ''
        const challenge = createHash('sha256').update(verifier).digest('base64url')
        if (grant === undefined || grant.issuer !== issuer || challenge !== grant.challenge) {
          res.writeHead(400, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: 'invalid_grant' }))
          return
        }
        const key = await keyOf(bank)
        const now = Math.floor(Date.now() / 1000)
        const idToken = await new SignJWT({ nonce: grant.nonce, sub: 'user-1' })
          .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid ?? '' })
          .setIssuer(issuer)
          .setAudience(form.get('client_id') ?? 'aggregator')
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(key.privateKey)
        json({
          access_token: randomBytes(16).toString('base64url'),
          token_type: 'Bearer',
          expires_in: 300,
          id_token: idToken,
        })
        return
      }
      res.writeHead(404).end()
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`)
}

// ---- the relying party ----------------------------------------------------------------------

async function startBanksProcess(): Promise<{ origin: string; stop: () => void }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--as'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const [line] = (await once(child.stdout, 'data')) as [Buffer]
  return { origin: `http://127.0.0.1:${line.toString().trim()}`, stop: () => child.kill() }
}

function heap(): number {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error('run with node --expose-gc (npm run bench:banks)')
  collect()
  collect()
  return process.memoryUsage().heapUsed
}

async function main(): Promise<void> {
  const count = option('banks', 1000)
  const perRound = option('logins', 100)
  const rounds = option('rounds', 10)
  const bankProcess = await startBanksProcess()
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const signing = { ...(await exportJWK(privateKey)), kid: 'aggregator-1', alg: 'ES256' }
  const app = express()
  const server = createServer(app).listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const resolve = (name: string): FapiClientOptions | undefined => {
    const index = /^bank-(\d+)$/.exec(name)?.[1]
    if (index === undefined || Number(index) < 1 || Number(index) > count) return undefined
    return {
      issuer: `${bankProcess.origin}/b${index}`,
      clientId: 'aggregator',
      redirectUri: `${origin}/auth/callback`,
      keys: { signing: [signing] },
      profile: 'oidc',
      allowInsecureLoopback: true,
    }
  }
  const before = heap()
  const constructed = performance.now()
  const banks = fapiClients(resolve, { maxServers: count, callbackPaths: ['/auth/callback'] })
  const startup = performance.now() - constructed
  app.use(session({ secret: 'bench-secret', resave: false, saveUninitialized: false }))
  app.use(banks.router({ callback: (_req, res) => void res.status(204).end() }))
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      void _next
      res.status(500).json({ error: String((err as { code?: string }).code ?? err) })
    },
  )

  /** One whole login at bank `index`. */
  async function login(index: number): Promise<void> {
    const started = await fetch(`${origin}/auth/login?server=bank-${index}`, { redirect: 'manual' })
    const cookie = (started.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    const authorized = await fetch(started.headers.get('location') ?? '', { redirect: 'manual' })
    const done = await fetch(authorized.headers.get('location') ?? '', {
      redirect: 'manual',
      headers: { cookie },
    })
    if (done.status !== 204)
      throw new Error(`login at bank-${index}: ${done.status} ${await done.text()}`)
  }

  // Every bank created on first use (20 at a time): discovery and JWKS each.
  const creating = performance.now()
  for (let first = 1; first <= count; first += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - first + 1) }, (_, k) =>
        banks.resolve(`bank-${first + k}`),
      ),
    )
  }
  const creation = performance.now() - creating
  const created = heap()
  // Warm-up: the code paths compiled, both banks' first logins done.
  for (let round = 0; round < 50; round += 1) {
    await login(1)
    await login(count)
  }
  // Rounds in ABBA order (bank #1 first in even rounds, last in odd ones), so that a drift of
  // the machine's load weighs on both; the difference is the median of the rounds' ratios.
  const cpu: Record<'first' | 'last', number[]> = { first: [], last: [] }
  for (let round = 0; round < rounds; round += 1) {
    const order: ['first' | 'last', number][] = [
      ['first', 1],
      ['last', count],
    ]
    if (round % 2 === 1) order.reverse()
    for (const [which, index] of order) {
      const start = process.cpuUsage()
      for (let n = 0; n < perRound; n += 1) await login(index)
      const used = process.cpuUsage(start)
      cpu[which].push((used.user + used.system) / perRound / 1000)
    }
  }
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
  const first = median(cpu.first)
  const last = median(cpu.last)
  const ratio = median(cpu.last.map((value, round) => value / (cpu.first[round] ?? value)))
  const report = {
    banks: count,
    startupMs: Number(startup.toFixed(3)),
    creationMs: Math.round(creation),
    creationPerBankMs: Number((creation / count).toFixed(2)),
    heapPerBankKiB: Number(((created - before) / count / 1024).toFixed(1)),
    loginCpuMs: { bank1: Number(first.toFixed(3)), [`bank${count}`]: Number(last.toFixed(3)) },
    loginCpuDifference: `${((ratio - 1) * 100).toFixed(1)} % (median of the rounds' ratios)`,
    rounds: {
      rounds,
      loginsPerRound: perRound,
      firstMs: cpu.first.map((v) => Number(v.toFixed(3))),
      lastMs: cpu.last.map((v) => Number(v.toFixed(3))),
    },
    node: process.version,
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  server.closeAllConnections()
  server.close()
  bankProcess.stop()
}

if (process.argv.includes('--as')) await serveBanks()
else await main()
