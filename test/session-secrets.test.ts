/**
 * `sessionSecrets`: pending logins are sealed in the session store, and grants (tokens, DPoP keys,
 * claims) in the grant store (a `dir` + A256GCM JWE named by kid, bound to the record's readable
 * fields), so a dump of either yields no usable token; the login still works end to end
 * (callback, resource call, refresh), keys rotate by kid, and an edited or unsealed grant record
 * is refused.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import session from 'express-session'
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
  const sealed = await seal(old, { tokens: 'x' }, 'login:a')
  assert.deepEqual(await unseal(rotated, sealed, 'login:a'), { tokens: 'x' }, 'old kid still opens')
  assert.equal(await unseal(next, sealed, 'login:a'), undefined, 'a dropped key does not')
  assert.equal(await unseal(rotated, sealed, 'login:b'), undefined, 'another record does not')
  const tampered = `${sealed.slice(0, -4)}AAAA`
  assert.equal(await unseal(rotated, tampered, 'login:a'), undefined)
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
