/**
 * The cost of an external signer per login: `npm run signer-cost` signs what one login signs (a
 * request object, a PAR assertion, a token assertion) with a JWK in the process and with an
 * external signer over the same key (an in-process async signer, as the contender), in
 * interleaved batches, and prints the CPU time per login of each (all threads, `process.cpuUsage`);
 * then the same through a SoftHSM2 token (`examples/pkcs11-signer.ts`), when softhsm2 is installed:
 * that cost is the token's. A bounded script: it asserts no time.
 */
import { constants, createPrivateKey, sign, type JsonWebKey } from 'node:crypto'
import { importSigningKey, type SigningKey } from '../src/config/keys.js'
import { signRequestObject } from '../src/core/jwt/jar.js'
import { signClientAssertion } from '../src/core/server/client-auth.js'
import type { ExternalSigner } from '../src/index.js'
import { openToken } from '../examples/pkcs11-signer.js'
import { generateJwks } from '../test/support/keys.js'
import { createSoftToken, softhsmMissing } from '../test/support/softhsm.js'

const rounds = Number(process.env.SIGNER_ROUNDS ?? 10)
const perBatch = Number(process.env.SIGNER_BATCH ?? 100)
const allowed = ['PS256', 'ES256', 'EdDSA'] as const
const params = {
  response_type: 'code',
  client_id: 'portal',
  redirect_uri: 'https://portal.example/auth/callback',
  scope: 'openid profile',
  state: 'x'.repeat(43),
  nonce: 'y'.repeat(43),
  code_challenge: 'z'.repeat(43),
  code_challenge_method: 'S256',
  response_mode: 'jwt',
}

/** What one login signs: a request object and two client assertions. */
async function login(key: SigningKey): Promise<void> {
  const now = Date.now()
  const common = { clientId: 'portal', issuer: 'https://as.example', key, now }
  await signRequestObject({ ...common, params, lifetime: 60 })
  await signClientAssertion({ ...common, audience: 'https://as.example' })
  await signClientAssertion({ ...common, audience: 'https://as.example' })
}

async function cpuPerLogin(key: SigningKey, count: number): Promise<number> {
  const started = process.cpuUsage()
  for (let i = 0; i < count; i += 1) await login(key)
  const used = process.cpuUsage(started)
  return (used.user + used.system) / count
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0)
}

/** An in-process async signer over `privateJwk`: what a KMS signer is, minus the network. */
function inProcessSigner(
  alg: 'PS256' | 'ES256',
  privateJwk: object,
  publicJwk: object,
): ExternalSigner {
  const key = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' })
  const options =
    alg === 'PS256'
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : { key, dsaEncoding: 'ieee-p1363' as const }
  return {
    kid: 'jwk',
    alg,
    publicJwk,
    sign: (data) =>
      new Promise((resolve, reject) => {
        sign('sha256', data, options, (error, signature) =>
          error ? reject(error) : resolve(signature),
        )
      }),
  }
}

const results: Record<string, unknown> = { rounds, loginsPerBatch: perBatch }
for (const alg of ['PS256', 'ES256'] as const) {
  const { privateJwk, publicJwk } = await generateJwks(alg, 'jwk')
  const jwk = importSigningKey(privateJwk, 'jwk', allowed)
  const external = importSigningKey(inProcessSigner(alg, privateJwk, publicJwk), 'signer', allowed)
  await cpuPerLogin(jwk, 50)
  await cpuPerLogin(external, 50)
  const a: number[] = []
  const b: number[] = []
  const ratios: number[] = []
  for (let round = 0; round < rounds; round += 1) {
    // Interleaved, alternating which goes first, so that a machine's drift hits both sides.
    const first = round % 2 === 0
    const x = first ? await cpuPerLogin(jwk, perBatch) : 0
    const y = await cpuPerLogin(external, perBatch)
    const z = first ? x : await cpuPerLogin(jwk, perBatch)
    a.push(z)
    b.push(y)
    ratios.push(y / z)
  }
  results[alg] = {
    jwkCpuMicrosecondsPerLogin: median(a),
    signerCpuMicrosecondsPerLogin: median(b),
    signerOverJwk: Math.round(median(ratios.map((r) => r * 1000))) / 1000,
  }
}

const missing = softhsmMissing()
if (missing === false) {
  const soft = createSoftToken()
  const token = openToken(soft)
  try {
    for (const alg of ['PS256', 'ES256'] as const) {
      const label = `bench-${alg}`
      token.generateKeyPair({ label, alg })
      const key = importSigningKey(token.signer({ label, kid: label, alg }), label, allowed)
      await cpuPerLogin(key, 20)
      const wall = performance.now()
      const cpu = await cpuPerLogin(key, perBatch)
      results[`softhsm2 ${alg}`] = {
        cpuMicrosecondsPerLogin: Math.round(cpu),
        wallMillisecondsPerLogin: Math.round(((performance.now() - wall) / perBatch) * 100) / 100,
      }
    }
  } finally {
    token.close()
    soft.remove()
  }
} else {
  results.softhsm2 = missing
}
console.log(JSON.stringify(results, null, 2))
