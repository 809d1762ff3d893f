/**
 * The framework-free parts of DPoP and the HTTP transport: proofs verify with their embedded key,
 * `htu`, the nonce cache, keys as session data, and connection reuse.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify, type JWK } from 'jose'
import { Agents } from '../src/config/agents.js'
import {
  DpopNonces,
  createDpopKey,
  dpopProof,
  dpopThumbprint,
  htu,
  isDpopKey,
} from '../src/core/jwt/dpop.js'
import { requestJson } from '../src/core/transport/http.js'
import { isTransaction } from '../src/core/flows/transaction.js'
import { memoryCoordination } from '../src/core/coordination/memory.js'

for (const alg of ['ES256', 'EdDSA'] as const) {
  test(`RFC 9449 §4.2, RFC 7638: an ${alg} proof verifies with its embedded public key, whose thumbprint is dpop_jkt`, async () => {
    const key = await createDpopKey(alg)
    const proof = await dpopProof(key, {
      method: 'post',
      url: 'https://as.example/token?x=1#y',
      now: Date.now(),
      nonce: 'n-1',
      accessToken: 'token',
    })
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' })
    assert.equal(payload.htm, 'POST')
    assert.equal(payload.htu, 'https://as.example/token')
    assert.equal(payload.nonce, 'n-1')
    assert.equal(typeof payload.ath, 'string')
    assert.equal('d' in (protectedHeader.jwk as JWK), false, 'no private part in the header')
    assert.equal(
      await calculateJwkThumbprint(protectedHeader.jwk as JWK),
      await dpopThumbprint(key),
    )
  })
}

test('RFC 9449, anonymous CPU exhaustion: an RSA (PS256) DPoP key is generated off the event loop', async () => {
  let ticked = false
  const generating = createDpopKey('PS256')
  setImmediate(() => {
    ticked = true
  })
  const key = await generating
  assert.equal(key.jwk.kty, 'RSA')
  assert.ok(ticked, 'the event loop ran while the RSA key was generated')
})

test('RFC 9449 §4.2: htu is the URL without query and fragment', () => {
  assert.equal(htu('https://rs.example/a/b?c=d#e'), 'https://rs.example/a/b')
})

test('RFC 9449 §8: nonces are kept per origin, bounded, and only when well-formed', async () => {
  const nonces = new DpopNonces(undefined, 2)
  nonces.remember('https://a.example/token', 'a1')
  nonces.remember('https://b.example/par', 'b1')
  assert.equal(await nonces.get('https://a.example/other'), 'a1', 'the origin, not the path')
  nonces.remember('https://c.example/', 'c1')
  assert.equal(
    await nonces.get('https://a.example/token'),
    undefined,
    'the oldest origin was dropped',
  )
  nonces.remember('https://b.example/par', 'bad nonce"')
  assert.equal(await nonces.get('https://b.example/'), 'b1', 'an invalid nonce is ignored')
})

test('RFC 9449 §8 nonce key: two servers on one origin, with clients sharing one store, keep their own nonces', async () => {
  // Two authorization servers at one origin (two issuers by path), the clients of each sharing a
  // coordination store (one Redis for a fleet): a nonce one server gave is not sent to the other.
  const shared = memoryCoordination({ now: Date.now })
  const bankA = new DpopNonces(shared, 256, 'https://banks.example/a')
  const bankB = new DpopNonces(shared, 256, 'https://banks.example/b')
  const otherInstanceOfA = new DpopNonces(shared, 256, 'https://banks.example/a')
  bankA.remember('https://banks.example/a/token', 'nonce-of-a')
  bankB.remember('https://banks.example/b/token', 'nonce-of-b')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(await bankA.get('https://banks.example/a/par'), 'nonce-of-a')
  assert.equal(await bankB.get('https://banks.example/b/par'), 'nonce-of-b')
  assert.equal(await otherInstanceOfA.get('https://banks.example/a/token'), 'nonce-of-a')
  // Without a store: each client keeps its own by server too.
  const alone = new DpopNonces(undefined, 256, 'https://banks.example/a')
  alone.remember('https://banks.example/token', 'n-1')
  const aloneB = new DpopNonces(undefined, 256, 'https://banks.example/b')
  assert.equal(await aloneB.get('https://banks.example/token'), undefined)
  assert.equal(await alone.get('https://banks.example/token'), 'n-1')
})

test('a DPoP key is plain session data: it survives JSON, and a damaged one is not accepted', async () => {
  const key = await createDpopKey('ES256')
  const copy: unknown = JSON.parse(JSON.stringify(key))
  assert.ok(isDpopKey(copy))
  const { d: _d, ...publicOnly } = key.jwk
  void _d
  assert.equal(isDpopKey({ ...key, jwk: publicOnly }), false)
  const transaction = {
    state: 's',
    nonce: 'n',
    codeVerifier: 'v',
    redirectUri: 'https://portal.example/cb',
    responseMode: 'jwt',
    issuer: 'https://as.example',
    clientId: 'portal',
    returnTo: '/',
    createdAt: 1,
  }
  assert.ok(isTransaction({ ...transaction, dpopKey: copy }))
  assert.equal(isTransaction({ ...transaction, dpopKey: { alg: 'HS256', jwk: key.jwk } }), false)
})

test('keep-alive: the client reuses one connection for calls to one server', async (t) => {
  const sockets = new Set<unknown>()
  const server = createServer((req, res) => {
    sockets.add(req.socket)
    res.setHeader('content-type', 'application/json')
    res.end('{"ok":true}')
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  const agents = new Agents()
  t.after(() => {
    agents.destroy()
    server.closeAllConnections()
    server.close()
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const options = { httpTimeout: 2000, maxResponseBytes: 1024, agents }
  for (let i = 0; i < 3; i += 1) {
    const { status, body } = await requestJson(url, { method: 'GET' }, options, 'test')
    assert.deepEqual([status, body], [200, { ok: true }])
  }
  assert.equal(sockets.size, 1)
})
