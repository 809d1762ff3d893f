/**
 * The back-channel logout URI in registration metadata (Back-Channel Logout 1.0 §2.2): given as
 * `backchannelLogoutUri`, registered at a real oidc-provider with back-channel logout on (with
 * `backchannel_logout_session_required`, since it sends a `sid`); not sent to a server that does
 * not support back-channel logout; an answer that drops or changes it is refused; the option is
 * checked at startup.
 */
import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import {
  FapiConfigError,
  fapiRegistration,
  isFapiError,
  memoryRegistrations,
  type FapiRegistrationOptions,
} from '../src/index.js'
import { AppBrowser, startApp } from './support/app.js'
import { testDirectory } from './support/directory.js'
import {
  startHostileRegistration,
  type HostileRegistrationServer,
} from './support/hostile-registration.js'
import { generateJwks } from './support/keys.js'
import { startFapi2Provider } from './support/provider-fapi2.js'
import { registeredAt } from './support/registered-client.js'
import { UserAgent } from './support/user-agent.js'

const PROVIDER_MODULE: string = 'oidc-provider'
const REDIRECT_URI = 'http://127.0.0.1:9/auth/callback'
const LOGOUT_URI = 'http://127.0.0.1:9/auth/backchannel-logout'

async function client(issuer: string): Promise<FapiRegistrationOptions['client']> {
  const signing = await generateJwks('ES256', 'portal-es256')
  return {
    issuer,
    redirectUri: REDIRECT_URI,
    keys: { signing: [signing.privateJwk] },
    scope: 'openid profile',
    allowInsecureLoopback: true,
  }
}

async function expectCode(promise: Promise<unknown>, code: string, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isFapiError(error), String(error))
    assert.equal(error.code, code, error.message)
    assert.match(error.message, pattern)
    return true
  })
}

async function bank(t: TestContext, backchannelLogout: boolean) {
  const directory = await testDirectory()
  const mod = (await import(PROVIDER_MODULE)) as {
    errors: { InvalidSoftwareStatement: new (description: string) => Error }
  }
  const as = await startFapi2Provider({
    clients: [],
    backchannelLogout,
    registration: { ssaPolicy: directory.policy(mod.errors) },
  })
  t.after(() => as.close())
  return { as, directory }
}

describe('backchannel_logout_uri at a real oidc-provider', () => {
  test('Back-Channel Logout §2.2: backchannelLogoutUri is registered as backchannel_logout_uri, with backchannel_logout_session_required', async (t) => {
    const { as, directory } = await bank(t, true)
    const registered = await fapiRegistration({
      client: await client(as.issuer),
      backchannelLogoutUri: LOGOUT_URI,
      softwareStatement: () => directory.sign({ redirectUris: [REDIRECT_URI] }),
      initialAccessToken: () => as.initialAccessToken(),
    }).ensure()
    const metadata = await registeredAt(as, registered.clientId)
    assert.equal(metadata.backchannel_logout_uri, LOGOUT_URI)
    assert.equal(metadata.backchannel_logout_session_required, true)
    assert.equal(registered.metadata.backchannel_logout_uri, LOGOUT_URI)
  })

  test('Back-Channel Logout §2.1: a server without back-channel logout is not sent the URI and registers the client', async (t) => {
    const { as, directory } = await bank(t, false)
    const registered = await fapiRegistration({
      client: await client(as.issuer),
      backchannelLogoutUri: LOGOUT_URI,
      softwareStatement: () => directory.sign({ redirectUris: [REDIRECT_URI] }),
      initialAccessToken: () => as.initialAccessToken(),
    }).ensure()
    const metadata = await registeredAt(as, registered.clientId)
    assert.equal(metadata.backchannel_logout_uri, undefined)
  })
})

describe('backchannel_logout_uri in hostile answers', () => {
  async function hostile(t: TestContext): Promise<HostileRegistrationServer> {
    const as = await startHostileRegistration()
    t.after(() => as.close())
    as.discovery = {
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    }
    return as
  }

  test('what is sent: backchannel_logout_uri and backchannel_logout_session_required where the server supports them, nothing without backchannelLogoutUri', async (t) => {
    const as = await hostile(t)
    const options = await client(as.issuer)
    await fapiRegistration({ client: options, backchannelLogoutUri: LOGOUT_URI }).ensure()
    await fapiRegistration({ client: options }).ensure()
    as.discovery = { backchannel_logout_supported: true }
    await fapiRegistration({ client: options, backchannelLogoutUri: LOGOUT_URI }).ensure()
    const sent = as.seen.map((seen) => JSON.parse(seen.body) as Record<string, unknown>)
    assert.deepEqual(
      sent.map((body) => [body.backchannel_logout_uri, body.backchannel_logout_session_required]),
      [
        [LOGOUT_URI, true],
        [undefined, undefined],
        [LOGOUT_URI, undefined],
      ],
    )
  })

  for (const [name, change, pattern] of [
    ['drops', undefined, /backchannel_logout_uri is missing/],
    [
      'changes',
      'https://elsewhere.example/logout',
      /backchannel_logout_uri is "https:\/\/elsewhere.example\/logout"/,
    ],
  ] as const) {
    test(`Back-Channel Logout §2.2: an answer that ${name} backchannel_logout_uri is ERR_REGISTRATION_INVALID, nothing stored`, async (t) => {
      const as = await hostile(t)
      as.reply = (sent) => ({
        status: 201,
        body: { ...sent, client_id: 'c', backchannel_logout_uri: change },
      })
      const store = memoryRegistrations()
      await expectCode(
        fapiRegistration({
          client: await client(as.issuer),
          backchannelLogoutUri: LOGOUT_URI,
          store,
        }).ensure(),
        'ERR_REGISTRATION_INVALID',
        pattern,
      )
      assert.equal(await store.get(as.issuer), undefined)
    })
  }
})

describe('the backchannelLogoutUri option', () => {
  const base: FapiRegistrationOptions['client'] = {
    issuer: 'https://as.example.test',
    redirectUri: 'https://app.example.test/cb',
    profile: 'oidc',
    clientAuthMethod: 'client_secret_basic',
  }
  for (const [value, pattern] of [
    ['/auth/backchannel-logout', /absolute URL/],
    ['https://app.example.test/auth/backchannel-logout#x', /fragment/],
    ['http://app.example.test/auth/backchannel-logout', /https/],
  ] as const) {
    test(`Back-Channel Logout §2.2: backchannelLogoutUri "${value}" is refused at startup`, () => {
      assert.throws(
        () => fapiRegistration({ client: base, backchannelLogoutUri: value }),
        (error: unknown) =>
          error instanceof FapiConfigError &&
          /backchannelLogoutUri/.test(error.message) &&
          pattern.test(error.message),
      )
    })
  }
  test('metadata may not set backchannel_logout_uri: it comes from backchannelLogoutUri', () => {
    assert.throws(
      () => fapiRegistration({ client: base, metadata: { backchannel_logout_uri: 'https://x' } }),
      (error: unknown) =>
        error instanceof FapiConfigError && /metadata.backchannel_logout_uri/.test(error.message),
    )
  })
})

test('Back-Channel Logout §2.2, §2.7: a client registered with backchannelLogoutUri is logged out when the user signs out at the bank, that session only (the sid it asked for)', async (t) => {
  const { as, directory } = await bank(t, true)
  const app = await startApp({
    client: async ({ origin, redirectUri }) =>
      fapiRegistration({
        client: { ...(await client(as.issuer)), redirectUri },
        backchannelLogoutUri: `${origin}/auth/backchannel-logout`,
        softwareStatement: () => directory.sign({ redirectUris: [redirectUri] }),
        initialAccessToken: () => as.initialAccessToken(),
      }).clientOptions(),
    routes: (router, fapi) => router.post('/auth/backchannel-logout', fapi.backchannelLogout()),
  })
  t.after(() => app.close())
  const tokens: string[] = []
  as.provider.on('backchannel.success', () => tokens.push('delivered'))
  // The same user in two browsers: two sessions at the bank, two grants with their own sid.
  const browsers = [new AppBrowser(app.origin), new AppBrowser(app.origin)]
  const agents = [new UserAgent(), new UserAgent()]
  for (const [i, browser] of browsers.entries()) {
    const agent = agents[i] as UserAgent
    const landed = await browser.deliver(
      await agent.authorize(await browser.startLogin(), { redirectUri: app.redirectUri }),
    )
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.equal((await browser.request('/me')).status, 200, 'logged in')
  }
  await agents[0]?.logout(`${as.issuer}/session/end`)
  assert.deepEqual(tokens, ['delivered'], 'the bank delivered one logout token')
  assert.equal((await browsers[0]?.request('/me'))?.status, 401, 'logged out by the bank')
  assert.equal(
    (await browsers[1]?.request('/me'))?.status,
    200,
    "the other browser's session stays: the token named this session's sid, not only the user",
  )
})
