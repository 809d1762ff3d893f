/**
 * `sessionSecrets`: pending logins are sealed in the session store, and grants (tokens, DPoP keys,
 * claims) in the grant store (a `dir` + A256GCM JWE named by kid, bound to the record's readable
 * fields), so a dump of either yields no usable token; the login still works end to end
 * (callback, resource call, refresh), keys rotate by kid, and an edited or unsealed grant record
 * is refused.
 */
import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import session from 'express-session'
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose'
import { resolveSessionSecrets } from '../src/config/coordination.js'
import { seal, unseal } from '../src/core/jwt/seal.js'
import { FapiConfigError } from '../src/index.js'
import type { Reply } from './support/hostile-server.js'
import { expectLogin, login, setup } from './support/hostile-fixture.js'
import { inspectableGrantStore } from './support/grants.js'

const k1 = { kid: 'k1', key: randomBytes(32) }
const k2 = { kid: 'k2', key: randomBytes(32).toString('base64url') }

function dump(store: session.MemoryStore): Promise<string> {
  return new Promise((resolve, reject) => {
    store.all((error, sessions) => (error ? reject(error) : resolve(JSON.stringify(sessions))))
  })
}

test('sealed at rest: a dump of the session and grant stores holds no token, verifier or nonce; the login works', async (t) => {
  const store = new session.MemoryStore()
  const grants = inspectableGrantStore()
  const fx = await setup(t, {
    store,
    client: { sessionSecrets: { keys: [k1] }, grants: grants.store },
  })
  const issued: string[] = []
  fx.as.token = (reply: Reply) => {
    const body = reply.body as Record<string, unknown> | undefined
    for (const name of ['access_token', 'refresh_token', 'id_token']) {
      if (typeof body?.[name] === 'string') issued.push(body[name])
    }
    return reply
  }
  const delivery = await login(fx)
  const pending = await dump(store)
  assert.doesNotMatch(pending, /codeVerifier|"nonce"/, 'the pending login is sealed')
  assert.match(pending, /"sealed":"eyJ/)
  await expectLogin(fx, delivery)
  assert.ok(issued.length >= 3)
  const stored = (await dump(store)) + grants.dump()
  for (const token of issued) assert.ok(!stored.includes(token), 'no token in the stores')
  assert.match(grants.dump(), /"body":"eyJ[^"]+"/, 'the grant is sealed')
  assert.doesNotMatch(await dump(store), /eyJ/, 'the session holds no token, only a grant id')
  // Resource calls and refreshes open the sealed tokens.
  const answer = await fx.browser.request(
    `/resource?url=${encodeURIComponent(`${fx.as.issuer}/userinfo`)}`,
  )
  assert.equal(((await answer.json()) as { status: number }).status, 200)
  assert.equal((await fx.browser.request('/refresh', { method: 'POST' })).status, 200)
  const refreshed = (await dump(store)) + grants.dump()
  for (const token of issued) assert.ok(!refreshed.includes(token), 'none after the refresh')
})

test('sealed at rest: rotation by kid; a dropped key or another binding does not open', async () => {
  const old = resolveSessionSecrets({ keys: [k1] })
  const rotated = resolveSessionSecrets({ keys: [k2, k1] })
  const next = resolveSessionSecrets({ keys: [k2] })
  assert.ok(old && rotated && next)
  const sealed = seal(old, { tokens: 'x' }, 'login:a')
  assert.deepEqual(unseal(rotated, sealed, 'login:a'), { tokens: 'x' }, 'old kid still opens')
  assert.equal(unseal(next, sealed, 'login:a'), undefined, 'a dropped key does not')
  assert.equal(unseal(rotated, sealed, 'login:b'), undefined, 'another record does not')
  const tampered = `${sealed.slice(0, -4)}AAAA`
  assert.equal(unseal(rotated, tampered, 'login:a'), undefined)
})

test('sealed at rest: an ordinary dir + A256GCM JWE; jose opens what is sealed here, and values jose sealed (earlier releases) open here', async () => {
  const secrets = resolveSessionSecrets({ keys: [k1] })
  assert.ok(secrets)
  const value = { tokens: { accessToken: 'at', idToken: 'é'.repeat(300) }, n: 1 }
  const sealed = seal(secrets, value, 'login:a')
  assert.deepEqual(decodeProtectedHeader(sealed), {
    alg: 'dir',
    enc: 'A256GCM',
    kid: 'k1',
    bnd: 'login:a',
  })
  const { plaintext } = await compactDecrypt(sealed, k1.key, {
    keyManagementAlgorithms: ['dir'],
    contentEncryptionAlgorithms: ['A256GCM'],
  })
  assert.deepEqual(JSON.parse(Buffer.from(plaintext).toString('utf8')), value)
  const byJose = await new CompactEncrypt(Buffer.from(JSON.stringify(value), 'utf8'))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'k1', bnd: 'login:a' })
    .encrypt(k1.key)
  assert.deepEqual(unseal(secrets, byJose, 'login:a'), value)
  assert.notEqual(seal(secrets, value, 'login:a'), sealed, 'a fresh IV per sealed value')
})

/**
 * A sealed value made by hand with any header and IV, under k1 (the hostile side: everything but
 * the one thing under test is as `seal` makes it, so without that check the value would open).
 */
function sealedWith(header: Record<string, unknown>, value: unknown, ivBytes = 12): string {
  const encoded = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url')
  const iv = randomBytes(ivBytes)
  const cipher = createCipheriv('aes-256-gcm', k1.key, iv)
  cipher.setAAD(Buffer.from(encoded, 'ascii'))
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
  return [encoded, '', iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.')
}

test('sealed at rest, read strictly: another alg or enc, zip, crit, an extra member, an encrypted key, an IV not of 96 bits, a short tag, or a part that is not base64url does not open', () => {
  const secrets = resolveSessionSecrets({ keys: [k1] })
  assert.ok(secrets)
  const value = { tokens: 'x' }
  const header = { alg: 'dir', enc: 'A256GCM', kid: 'k1', bnd: 'login:a' }
  assert.deepEqual(unseal(secrets, sealedWith(header, value), 'login:a'), value, 'the control')
  const refused = {
    'alg A256KW': sealedWith({ ...header, alg: 'A256KW' }, value),
    'enc A128GCM': sealedWith({ ...header, enc: 'A128GCM' }, value),
    zip: sealedWith({ ...header, zip: 'DEF' }, value),
    crit: sealedWith({ ...header, crit: ['exp'], exp: 1 }, value),
    'extra member': sealedWith({ ...header, typ: 'JWT' }, value),
    'IV of 64 bits': sealedWith(header, value, 8),
    'header not an object': sealedWith(['dir'] as unknown as Record<string, unknown>, value),
  }
  for (const [what, sealed] of Object.entries(refused)) {
    assert.equal(unseal(secrets, sealed, 'login:a'), undefined, what)
  }
  const good = sealedWith(header, value)
  const [encoded, , iv, ciphertext, tag] = good.split('.') as [
    string,
    string,
    string,
    string,
    string,
  ]
  const malformed = {
    'an encrypted key': `${encoded}.AAAA.${iv}.${ciphertext}.${tag}`,
    'a 96-bit tag': `${encoded}..${iv}.${ciphertext}.${tag.slice(0, 16)}`,
    'a part with a character outside base64url': `${encoded}..${iv}.${ciphertext}!.${tag}`,
    'six parts': `${good}.`,
    'four parts': `${encoded}..${iv}.${ciphertext}`,
    'over 64 KiB': `${good}${'A'.repeat(70_000)}`,
  }
  for (const [what, sealed] of Object.entries(malformed)) {
    assert.equal(unseal(secrets, sealed, 'login:a'), undefined, what)
  }
})

test('sessionSecrets: keys that are not 32 bytes, or a repeated kid, fail at startup', () => {
  assert.throws(() => resolveSessionSecrets({ keys: [] }), FapiConfigError)
  assert.throws(
    () => resolveSessionSecrets({ keys: [{ kid: 'a', key: randomBytes(16) }] }),
    /must be 32 bytes/,
  )
  assert.throws(() => resolveSessionSecrets({ keys: [k1, k1] }), /listed twice/)
})

/** A sealed login, and the grant store's data an attacker may edit. */
async function sealedLogin(t: Parameters<typeof setup>[0]) {
  const grants = inspectableGrantStore()
  const fx = await setup(t, { client: { sessionSecrets: { keys: [k1] }, grants: grants.store } })
  await expectLogin(fx, await login(fx))
  assert.equal((await fx.browser.request('/me')).status, 200)
  return { fx, grants }
}

test('sessionSecrets, sealed record bound to its readable fields: a grant record with another sub is refused', async (t) => {
  const { fx, grants } = await sealedLogin(t)
  grants.edit((record) => ({ ...record, sub: 'mallory' }))
  assert.equal((await fx.browser.request('/me')).status, 401, 'the edited record does not open')
  const answer = await fx.browser.request(
    `/resource?url=${encodeURIComponent(`${fx.as.issuer}/userinfo`)}`,
  )
  assert.equal(answer.status, 401)
  assert.equal(((await answer.json()) as { error: string }).error, 'ERR_LOGIN_REQUIRED')
  assert.equal(fx.as.requests('/userinfo'), 0, 'no token reached the resource server')
  grants.edit(undefined)
  assert.equal((await fx.browser.request('/me')).status, 200, 'the record as sealed opens')
})

test('sessionSecrets, unsealed record refused: a grant record replaced by a readable one is not used', async (t) => {
  const { fx, grants } = await sealedLogin(t)
  grants.edit((record) => ({
    ...record,
    body: JSON.stringify({
      claims: { sub: record.sub, role: 'admin' },
      tokens: { accessToken: 'planted', tokenType: 'Bearer', idToken: 'x.y.z', scope: 'openid' },
    }),
  }))
  assert.equal((await fx.browser.request('/me')).status, 401)
  const answer = await fx.browser.request(
    `/resource?url=${encodeURIComponent(`${fx.as.issuer}/userinfo`)}`,
  )
  assert.equal(answer.status, 401)
  assert.equal(fx.as.requests('/userinfo'), 0, 'the planted token is never sent')
})
