/**
 * The cost of `sessionSecrets` per login: `npm run seal-cost` seals and opens a pending login and
 * a stored login (the JWEs a login start and a callback make and read) many times, and prints the
 * CPU time per callback with and without sealing. A bounded script: it asserts no time.
 */
import { randomBytes } from 'node:crypto'
import { resolveSessionSecrets } from '../src/config/coordination.js'
import { createDpopKey } from '../src/core/jwt/dpop.js'
import { seal, unseal } from '../src/core/jwt/seal.js'

const rounds = Number(process.env.SEAL_ROUNDS ?? 5_000)
const secrets = resolveSessionSecrets({ keys: [{ kid: 'k1', key: randomBytes(32) }] })
if (secrets === undefined) throw new Error('no secrets')
const dpopKey = await createDpopKey('ES256')
const transaction = {
  state: randomBytes(32).toString('base64url'),
  nonce: randomBytes(32).toString('base64url'),
  codeVerifier: randomBytes(32).toString('base64url'),
  redirectUri: 'https://portal.example/auth/callback',
  responseMode: 'jwt',
  issuer: 'https://as.example',
  clientId: 'portal',
  returnTo: '/',
  createdAt: Date.now(),
  dpopKey,
}
const secret = {
  tokens: {
    accessToken: randomBytes(600).toString('base64url'),
    tokenType: 'DPoP',
    idToken: randomBytes(900).toString('base64url'),
    refreshToken: randomBytes(32).toString('base64url'),
    expiresAt: Date.now() + 300_000,
    scope: 'openid profile',
  },
  dpopKey,
}

/** What sealing adds to one callback: open the pending login, seal the login record. */
async function callback(): Promise<number> {
  const sealedTransaction = seal(secrets!, transaction, 'transaction:s')
  const started = process.cpuUsage()
  unseal(secrets!, sealedTransaction, 'transaction:s')
  const record = seal(secrets!, secret, 'login:l')
  const used = process.cpuUsage(started)
  if (record.length === 0) throw new Error('empty')
  return used.user + used.system
}

for (let i = 0; i < 200; i += 1) await callback()
let total = 0
for (let i = 0; i < rounds; i += 1) total += await callback()
const sealedLogin = seal(secrets, secret, 'login:l')
console.log(
  JSON.stringify(
    {
      rounds,
      cpuMicrosecondsPerCallback: Math.round((total / rounds) * 10) / 10,
      sealedLoginBytes: sealedLogin.length,
      plainLoginBytes: JSON.stringify(secret).length,
    },
    null,
    2,
  ),
)
