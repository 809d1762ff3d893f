/**
 * The raw cost of one JWT signature and one verification, jose against Node's own crypto, in a
 * process of its own: CPU microseconds per operation (all threads), a few operations in flight.
 */
import { SignJWT, jwtVerify } from 'jose'
import { announce, serve } from './lib/ipc.js'
import {
  generateJwkPair,
  privateKeyOf,
  publicKeyOf,
  signJwtNode,
  verifyJwtNode,
  type Alg,
} from './lib/jwt-node.js'

async function cpuPerOp(n: number, op: () => Promise<unknown>): Promise<number> {
  let next = 0
  const worker = async () => {
    while (next < n) {
      next += 1
      await op()
    }
  }
  const before = process.cpuUsage()
  await Promise.all(Array.from({ length: 4 }, worker))
  const { user, system } = process.cpuUsage(before)
  return (user + system) / n
}

async function run(args: unknown): Promise<Record<string, number>> {
  const { alg, n } = args as { alg: Alg; n: number }
  const { privateJwk, publicJwk } = generateJwkPair(alg, 'raw')
  const key = privateKeyOf(privateJwk)
  const pub = publicKeyOf(publicJwk)
  const payload = {
    iss: 'raw',
    aud: 'bench',
    sub: 'alice',
    exp: Math.floor(Date.now() / 1000) + 600,
  }
  const token = await signJwtNode(alg, key, { kid: 'raw' }, payload)
  const keys = new Map([['raw', pub]])
  const ops: Record<string, () => Promise<unknown>> = {
    'sign: jose SignJWT': () =>
      new SignJWT(payload).setProtectedHeader({ alg, kid: 'raw' }).sign(key),
    'sign: crypto.sign async': () => signJwtNode(alg, key, { kid: 'raw' }, payload),
    'verify: jose jwtVerify': () => jwtVerify(token, pub, { algorithms: [alg], audience: 'bench' }),
    'verify: crypto.verify async': () =>
      verifyJwtNode(token, { alg, keys, issuer: 'raw', audience: 'bench' }),
  }
  const result: Record<string, number> = {}
  for (const [name, op] of Object.entries(ops)) {
    await cpuPerOp(Math.max(5, Math.floor(n / 4)), op) // warm-up
    result[name] = await cpuPerOp(n, op)
  }
  return result
}

serve({ run })
announce({})
