/**
 * The example (`npm start`: the portal and two example banks, real oidc-provider) as a user and a
 * developer meet it, without a browser: a sign-out at the bank reaches the portal by back-channel
 * logout (the bank's ID tokens carry `sid`, its logout token ends that grant); the portal's "Log
 * out" ends both banks' grants, each revoked at its bank; "Unlink" ends one bank's; and an app of
 * one's own registers itself at a running example bank with `fapiRegistration()` and a software
 * statement of the example directory, then logs in.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { after, before, describe, test } from 'node:test'
import { loadDirectory } from '../examples/authorization-server/directory.js'
import type { BankEvent } from '../examples/authorization-server/server.js'
import type { BankName } from '../examples/portal/app.js'
import { startExample, type RunningExample } from '../examples/start.js'
import {
  fapiRegistration,
  isFapiError,
  memoryGrantStore,
  type GrantRecord,
  type GrantStore,
} from '../src/index.js'
import { startApp } from './support/app.js'
import { ExampleUser } from './support/example-user.js'
import { generateJwks } from './support/keys.js'

const TIMEOUT = 60_000
const run = promisify(execFile)

let dataDir: string
let example: RunningExample
let grants: GrantStore
const events: { bank: BankName; event: BankEvent }[] = []

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'express-fapi-example-banks-'))
  grants = memoryGrantStore()
  example = await startExample({
    portalPort: 0,
    asPort: 0,
    bankBPort: 0,
    dataDirs: { portal: join(dataDir, 'portal'), authorizationServer: join(dataDir, 'as') },
    grants,
    onBankEvent: (bank, event) => events.push({ bank, event }),
  })
})

after(async () => {
  await example?.close()
  await rm(dataDir, { recursive: true, force: true })
})

function newUser(login = 'alice'): ExampleUser {
  return new ExampleUser(example.portalUrl, Object.values(example.issuers), login)
}

/** Signs in with bank A at the portal; lands on the account page. */
async function signIn(user: ExampleUser): Promise<void> {
  const landed = await user.go(`${example.portalUrl}/auth/login?server=bank-a&returnTo=%2Faccount`)
  assert.equal(landed.url, `${example.portalUrl}/account`)
  assert.equal(landed.status, 200, landed.html)
}

/** Links bank B (after bank A); lands on the account page with two banks. */
async function linkBankB(user: ExampleUser): Promise<void> {
  const landed = await user.go(`${example.portalUrl}/auth/login?server=bank-b&returnTo=%2Faccount`)
  assert.equal(landed.url, `${example.portalUrl}/account`)
  assert.match(landed.html, /<span id="linked-count">2<\/span>/)
}

/** The user's grant records at `bank`, newest first. */
async function grantsOf(bank: BankName, sub: string): Promise<GrantRecord[]> {
  const ids = await grants.find({ issuer: example.issuers[bank], sub })
  const records = await Promise.all(ids.map((id) => grants.get(id)))
  return records
    .filter((record): record is GrantRecord => record !== undefined)
    .sort((a, b) => b.createdAt - a.createdAt)
}

/** The bank's events of the portal's client since `from` (an index into `events`). */
function bankEvents(from: number, bank: BankName, type: BankEvent['type']): BankEvent[] {
  return events
    .slice(from)
    .filter((entry) => entry.bank === bank && entry.event.type === type)
    .map((entry) => entry.event)
}

/** What `npm run example:ssa` prints for the example's directory (run as a process). */
async function printedStatement(redirectUri: string, jwksUri: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('../examples/authorization-server/ssa.ts', import.meta.url)),
      '--redirect-uri',
      redirectUri,
      '--jwks-uri',
      jwksUri,
      '--directory',
      join(dataDir, 'as', 'directory'),
    ],
    { timeout: 30_000, cwd: fileURLToPath(new URL('..', import.meta.url)) },
  )
  return stdout.trim()
}

/** The account page, as the user's next request: 200, or a login at bank A. */
async function accountStatus(user: ExampleUser): Promise<{ status: number; location: string }> {
  const response = await user.agent.fetch(`${example.portalUrl}/account`)
  await response.body?.cancel()
  return { status: response.status, location: response.headers.get('location') ?? '' }
}

describe('the example banks and the portal, without a browser', () => {
  test(
    'Back-Channel Logout 1.0 §2.5–2.7 at the example bank: the user signs out at bank A, the bank posts a logout token with the sid of its ID token, the portal ends that grant and its next request is a login',
    { timeout: TIMEOUT },
    async () => {
      const user = newUser('bob')
      await signIn(user)
      const [grant] = await grantsOf('bank-a', 'bob')
      assert.equal(grant?.status, 'active')
      assert.ok(grant?.sid !== undefined && grant.sid !== '', 'the ID token carried a sid')
      assert.equal((await accountStatus(user)).status, 200)

      const from = events.length
      const signedOut = await user.signOutAtBank(example.issuers['bank-a'])
      assert.equal(signedOut.status, 200)
      assert.match(signedOut.html, /You have signed out of Example Bank A/)
      assert.equal((await grants.get(grant.id))?.status, 'ended', 'the grant ended')
      const next = await accountStatus(user)
      assert.equal(next.status, 303, 'the account page now starts a login')
      assert.match(next.location, /^\/auth\/login\?/)
      assert.deepEqual(bankEvents(from, 'bank-a', 'backchannel-logout'), [
        { type: 'backchannel-logout', clientId: 'portal', delivered: true },
      ])
    },
  )

  test(
    "the portal's Log out ends both banks' grants, each revoked at its bank (RFC 7009), before the browser leaves for bank A",
    { timeout: TIMEOUT },
    async () => {
      const user = newUser('alice')
      await signIn(user)
      await linkBankB(user)
      const [grantA] = await grantsOf('bank-a', 'alice')
      const [grantB] = await grantsOf('bank-b', 'alice')
      assert.equal(grantA?.status, 'active')
      assert.equal(grantB?.status, 'active')

      const from = events.length
      const logout = await user.agent.fetch(`${example.portalUrl}/auth/logout`, {
        method: 'POST',
        body: new URLSearchParams(),
      })
      await logout.body?.cancel()
      assert.equal(logout.status, 303)
      assert.ok(
        (logout.headers.get('location') ?? '').startsWith(
          `${example.issuers['bank-a']}/session/end`,
        ),
      )
      assert.equal((await grants.get(grantA.id))?.status, 'ended')
      assert.equal((await grants.get(grantB.id))?.status, 'ended')
      for (const bank of ['bank-a', 'bank-b'] as const) {
        assert.deepEqual(
          bankEvents(from, bank, 'token-revoked'),
          [{ type: 'token-revoked', clientId: 'portal', token: 'access' }],
          `${bank} revoked the portal's access token`,
        )
      }
      assert.equal((await accountStatus(user)).status, 303)
    },
  )

  test(
    'Unlink: bank B ends (revoked at bank B), bank A stays linked; a cross-site unlink is refused',
    { timeout: TIMEOUT },
    async () => {
      const user = newUser('alice')
      await signIn(user)
      await linkBankB(user)
      const [grantA] = await grantsOf('bank-a', 'alice')
      const [grantB] = await grantsOf('bank-b', 'alice')
      assert.ok(grantA !== undefined && grantB !== undefined)

      // From another site (no Origin of the portal, Sec-Fetch-Site cross-site): refused.
      const forged = await fetch(`${example.portalUrl}/account/unlink/bank-b`, {
        method: 'POST',
        headers: { 'sec-fetch-site': 'cross-site' },
        redirect: 'manual',
      })
      assert.equal(forged.status, 403)
      assert.equal((await grants.get(grantB.id))?.status, 'active')

      const from = events.length
      const unlinked = await user.go(`${example.portalUrl}/account/unlink/bank-b`, {
        method: 'POST',
      })
      assert.equal(unlinked.url, `${example.portalUrl}/account?unlinked=bank-b`)
      assert.match(unlinked.html, /Example Bank B is no longer linked/)
      assert.match(unlinked.html, /<span id="linked-count">1<\/span>/)
      assert.equal((await grants.get(grantB.id))?.status, 'ended')
      assert.equal((await grants.get(grantA.id))?.status, 'active')
      assert.equal(bankEvents(from, 'bank-b', 'token-revoked').length, 1)
      assert.equal(bankEvents(from, 'bank-a', 'token-revoked').length, 0)

      // The last bank: nothing linked, the "Connect your bank" page.
      const last = await user.go(`${example.portalUrl}/account/unlink/bank-a`, { method: 'POST' })
      assert.equal(last.url, `${example.portalUrl}/connect`)
      assert.equal((await grants.get(grantA.id))?.status, 'ended')
    },
  )

  test(
    'RFC 7591: an app of its own registers at the running example bank with fapiRegistration() and a statement of the example directory, then logs in',
    { timeout: TIMEOUT },
    async (t) => {
      const signing = await generateJwks('ES256', 'own-app')
      let clientId = ''
      const app = await startApp({
        // Its keys at its own jwks_uri, as the statement names it: the bank fetches them there.
        client: async ({ redirectUri, jwksUri }) => {
          const options = await fapiRegistration({
            client: {
              issuer: example.issuers['bank-b'],
              redirectUri,
              keys: { signing: [signing.privateJwk] },
              scope: 'openid profile',
              allowInsecureLoopback: true,
            },
            // As examples/README.md says: the statement `npm run example:ssa` prints.
            softwareStatement: () => printedStatement(redirectUri, jwksUri),
            jwksUri,
            metadata: { client_name: 'My own app' },
          }).clientOptions()
          clientId = options.clientId
          return options
        },
      })
      t.after(() => app.close())
      assert.notEqual(clientId, 'portal')
      assert.ok(
        events.some(({ bank, event }) => bank === 'bank-b' && event.type === 'registration'),
      )

      const user = newUser('alice')
      const landed = await user.go(`${app.origin}/auth/login`)
      assert.equal(landed.status, 200, landed.html)
      assert.deepEqual(JSON.parse(landed.html), { sub: 'alice', returnTo: '/' })
      assert.equal(app.logins[0]?.tokens.tokenType, 'DPoP')
    },
  )

  test(
    'RFC 7591 §3.2.2: without a statement of the example directory, or for other redirect URIs, the example bank refuses the registration (invalid_software_statement)',
    { timeout: TIMEOUT },
    async () => {
      const signing = await generateJwks('ES256', 'stranger')
      const stranger = await loadDirectory(join(dataDir, 'another-directory'))
      const redirectUri = 'http://127.0.0.1:9/auth/callback'
      const directory = await loadDirectory(join(dataDir, 'as', 'directory'))
      for (const softwareStatement of [
        undefined,
        () => stranger.sign({ redirectUris: [redirectUri] }),
        () => directory.sign({ redirectUris: ['http://127.0.0.1:9/elsewhere'] }),
      ]) {
        await assert.rejects(
          fapiRegistration({
            client: {
              issuer: example.issuers['bank-a'],
              redirectUri,
              keys: { signing: [signing.privateJwk] },
              allowInsecureLoopback: true,
            },
            ...(softwareStatement === undefined ? {} : { softwareStatement }),
          }).ensure(),
          (error: unknown) =>
            isFapiError(error) &&
            error.code === 'ERR_REGISTRATION_REJECTED' &&
            /invalid_software_statement/.test(error.message),
        )
      }
    },
  )
})
