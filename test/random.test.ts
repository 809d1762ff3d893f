/**
 * `randomToken()`: 32 octets of the system CSPRNG as base64url, drawn in batches; every token is
 * distinct, also across batches.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { randomToken } from '../src/core/jwt/random.js'

test('randomToken: 43 base64url characters that decode to 32 octets', () => {
  for (let i = 0; i < 200; i++) {
    const token = randomToken()
    assert.match(token, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(Buffer.from(token, 'base64url').length, 32)
  }
})

test('randomToken: no token repeats over many batches, and no token is all zero', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 10_000; i++) seen.add(randomToken())
  assert.equal(seen.size, 10_000)
  assert.ok(!seen.has(Buffer.alloc(32).toString('base64url')))
})
