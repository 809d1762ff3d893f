/**
 * The raw cost of one JWT signature and of verifying each of the two JWTs a callback verifies (the
 * JARM response and the ID token): jose, Node's own crypto (the floor's code) and express-fapi's
 * own verification pipeline (`verifyJws`, every check included), in a process of its own: CPU
 * microseconds per operation (all threads), a few operations in flight.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { SignJWT, jwtVerify } from 'jose'
import type * as Jws from '../src/core/jwt/jws.js'
import { announce, serve } from './lib/ipc.js'
import {
  generateJwkPair,
  privateKeyOf,
  publicKeyOf,
  randomToken,
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
  const { alg, n, fapiSrc } = args as { alg: Alg; n: number; fapiSrc: string }
  const jws = (await import(pathToFileURL(join(fapiSrc, 'core/jwt/jws.ts')).href)) as typeof Jws
  const { privateJwk, publicJwk } = generateJwkPair(alg, 'raw')
  const key = privateKeyOf(privateJwk)
  const pub = publicKeyOf(publicJwk)
  const now = Math.floor(Date.now() / 1000)
  const common = { iss: 'https://as.example', aud: 'bench', iat: now, exp: now + 600 }
  const random = () => randomToken()
  // Shaped as the bench's authorization server mints them.
  const jarm = { ...common, state: random(), code: random() }
  const idToken = { ...common, sub: 'alice', nonce: random(), auth_time: now, at_hash: random() }
  const keys = new Map([['raw', pub]])
  const expect = {
    issuer: common.iss,
    clientId: common.aud,
    algorithms: [alg],
    clockTolerance: 5,
    now: Date.now(),
    jwks: { select: () => Promise.resolve(pub) },
  }
  const ops: Record<string, () => Promise<unknown>> = {
    'sign: jose SignJWT': () => new SignJWT(jarm).setProtectedHeader({ alg, kid: 'raw' }).sign(key),
    'sign: crypto.sign async': () => signJwtNode(alg, key, { kid: 'raw' }, jarm),
  }
  for (const [name, payload, required] of [
    ['JARM response', jarm, ['iss', 'aud', 'exp']],
    ['ID token', idToken, ['iss', 'sub', 'aud', 'exp', 'iat']],
  ] as const) {
    const token = await signJwtNode(alg, key, { kid: 'raw' }, payload)
    const kind = name === 'JARM response' ? 'JARM' : 'ID_TOKEN'
    ops[`verify ${name}: jose jwtVerify`] = () =>
      jwtVerify(token, pub, {
        algorithms: [alg],
        issuer: common.iss,
        audience: common.aud,
        requiredClaims: [...required],
      })
    ops[`verify ${name}: crypto.verify async`] = () =>
      verifyJwtNode(token, { alg, keys, issuer: common.iss, audience: common.aud })
    ops[`verify ${name}: express-fapi verifyJws`] = () =>
      jws.verifyJws(token, { ...expect, kind, requiredClaims: required })
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
