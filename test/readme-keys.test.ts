/**
 * The README's key command, run as written with the package's built `express-fapi` command: it
 * writes a private JWK that fapiClient() accepts as a signing key, readable by its owner only, and
 * prints the public JWKS with the same `kid` and no private member.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { JWK } from 'jose'
import { fapiClient } from '../src/index.js'

const root = new URL('../', import.meta.url)

test('the README key command writes a usable private JWK and prints its public JWKS', (t) => {
  const readme = readFileSync(new URL('README.md', root), 'utf8')
  const args = /^npx express-fapi (keys .+)$/m.exec(readme)?.[1]?.split(' ')
  assert.ok(args, 'the README has the command')
  const dir = mkdtempSync(join(tmpdir(), 'readme-keys-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const bin = fileURLToPath(new URL('dist/bin/express-fapi.js', root))
  const output = execFileSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' })
  const jwks = JSON.parse(output) as { keys: { kid?: string; d?: string }[] }
  const file = join(dir, 'signing-key.json')
  assert.equal(statSync(file).mode & 0o777, 0o600, 'only its owner reads the private key')
  const privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { kid: string }
  assert.equal(typeof privateJwk.d, 'string')
  assert.equal(jwks.keys.length, 1)
  assert.equal(jwks.keys[0]?.kid, privateJwk.kid)
  assert.equal(jwks.keys[0]?.d, undefined, 'no private member in the public JWKS')
  const auth = fapiClient({
    issuer: 'https://as.example.com',
    clientId: 'portal',
    redirectUri: 'https://portal.example.com/auth/callback',
    keys: { signing: [privateJwk] },
  })
  assert.deepEqual(
    auth.core.publicJwks().keys.map((key) => key.kid),
    [privateJwk.kid],
  )
})
