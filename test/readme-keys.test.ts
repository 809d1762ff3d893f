/**
 * The README's key-generation command, run as written: it prints a private JWK that fapiClient()
 * accepts as a signing key, then the public JWKS with the same `kid` and no private member.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { JWK } from 'jose'
import { fapiClient } from '../src/index.js'

const root = new URL('../', import.meta.url)

test('the README key-generation command prints a usable private JWK and its public JWKS', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8')
  const command = /^node --input-type=module -e "(.+generateKeyPair.+)"$/m.exec(readme)?.[1]
  assert.ok(command, 'the README has the command')
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', command], {
    cwd: root,
    encoding: 'utf8',
  })
  const [privateLine, publicLine] = output.trim().split('\n')
  const privateJwk = JSON.parse(privateLine ?? '') as JWK & { kid: string }
  const jwks = JSON.parse(publicLine ?? '') as { keys: { kid?: string; d?: string }[] }
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
