/**
 * Dynamic registration (RFC 7591) with a software statement and management (RFC 7592) against a
 * real oidc-provider whose registration policy checks the SSA like an open-finance bank: a
 * registered client logs in; expired, unsigned, other-key-signed SSAs and redirect URIs outside
 * the SSA are refused by the bank and reach the app as ERR_REGISTRATION_REJECTED; a changed
 * configuration updates the registration with the rotated registration access token saved; the
 * registration is read back and deleted; Redis keeps it across instances.
 */
import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { createClient } from 'redis'
import {
  FapiConfigError,
  fapiRegistration,
  isFapiError,
  memoryRegistrations,
  redisRegistrations,
  type FapiClientOptions,
  type FapiRegistrationOptions,
} from '../src/index.js'
import { AppBrowser, startApp } from './support/app.js'
import { testDirectory, type Directory } from './support/directory.js'
import { generateJwks } from './support/keys.js'
import { startFapi2Provider, type StartedFapi2Provider } from './support/provider-fapi2.js'
import { redisMissing, startRedis } from './support/redis.js'
import { UserAgent } from './support/user-agent.js'

const PROVIDER_MODULE: string = 'oidc-provider'

interface Bank {
  readonly as: StartedFapi2Provider
  readonly directory: Directory
}

async function startBank(t: TestContext, rs256 = false): Promise<Bank> {
  const directory = await testDirectory()
  const mod = (await import(PROVIDER_MODULE)) as {
    errors: { InvalidSoftwareStatement: new (description: string) => Error }
  }
  const as = await startFapi2Provider({
    clients: [],
    // oidc-provider defaults authorization_signed_response_alg to RS256 even without JARM.
    rs256,
    registration: { ssaPolicy: directory.policy(mod.errors) },
  })
  t.after(() => as.close())
  return { as, directory }
}

async function clientOptions(
  bank: Bank,
  redirectUri: string,
): Promise<FapiRegistrationOptions['client']> {
  const signing = await generateJwks('ES256', 'portal-es256')
  return {
    issuer: bank.as.issuer,
    redirectUri,
    keys: { signing: [signing.privateJwk] },
    scope: 'openid profile',
    allowInsecureLoopback: true,
  }
}

function registration(
  bank: Bank,
  client: FapiRegistrationOptions['client'],
  more: Partial<FapiRegistrationOptions> = {},
) {
  return fapiRegistration({
    client,
    softwareStatement: () => bank.directory.sign({ redirectUris: [client.redirectUri] }),
    initialAccessToken: () => bank.as.initialAccessToken(),
    ...more,
  })
}

async function expectCode(promise: Promise<unknown>, code: string, pattern?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isFapiError(error), String(error))
    assert.equal(error.code, code, error.message)
    if (pattern !== undefined) assert.match(error.message, pattern)
    return true
  })
}

describe('registration at a real oidc-provider', () => {
  test('RFC 7591 §3.1: a client registered with a software statement logs in (fapi2-message-signing, DPoP)', async (t) => {
    const bank = await startBank(t)
    let options: FapiClientOptions | undefined
    const app = await startApp({
      client: async ({ redirectUri }) => {
        options = await registration(bank, await clientOptions(bank, redirectUri)).clientOptions()
        return options
      },
    })
    t.after(() => app.close())
    assert.ok(options?.clientId !== undefined && options.clientId !== 'unregistered')
    const browser = new AppBrowser(app.origin)
    const agent = new UserAgent()
    const delivery = await agent.authorize(await browser.startLogin(), {
      redirectUri: app.redirectUri,
    })
    const landed = await browser.deliver(delivery)
    assert.equal(landed.status, 200, await landed.clone().text())
    assert.equal(app.logins[0]?.claims.sub, 'alice')
    assert.equal(app.logins[0]?.tokens.tokenType, 'DPoP')
    assert.equal(bank.as.requests('main', '/reg'), 1)
  })

  const REFUSED: readonly [string, (bank: Bank, redirectUri: string) => Promise<string>, RegExp][] =
    [
      [
        'an expired software statement',
        (bank, uri) => bank.directory.sign({ redirectUris: [uri], age: -600 }),
        /invalid_software_statement.*does not verify/,
      ],
      [
        'an unsigned software statement',
        (bank, uri) => bank.directory.sign({ redirectUris: [uri] }, { unsigned: true }),
        /invalid_software_statement.*does not verify/,
      ],
      [
        'a software statement signed by another key',
        async (bank, uri) =>
          bank.directory.sign({ redirectUris: [uri] }, { key: await generateJwks('ES256') }),
        /invalid_software_statement.*does not verify/,
      ],
      [
        'redirect URIs outside the software statement',
        (bank) => bank.directory.sign({ redirectUris: ['https://elsewhere.example/cb'] }),
        /invalid_software_statement.*redirect_uris outside/,
      ],
    ]
  for (const [name, ssa, pattern] of REFUSED) {
    test(`RFC 7591 §3.2.2: ${name} is refused by the bank: ERR_REGISTRATION_REJECTED`, async (t) => {
      const bank = await startBank(t)
      const redirectUri = 'http://127.0.0.1:9/auth/callback'
      const store = memoryRegistrations()
      const client = await clientOptions(bank, redirectUri)
      await expectCode(
        registration(bank, client, {
          store,
          softwareStatement: () => ssa(bank, redirectUri),
        }).ensure(),
        'ERR_REGISTRATION_REJECTED',
        pattern,
      )
      assert.equal(await store.get(bank.as.issuer), undefined, 'nothing stored')
    })
  }

  test('RFC 7591 §3: without the initial access token the bank refuses: ERR_REGISTRATION_REJECTED', async (t) => {
    const bank = await startBank(t)
    const client = await clientOptions(bank, 'http://127.0.0.1:9/auth/callback')
    await expectCode(
      fapiRegistration({
        client,
        softwareStatement: () => bank.directory.sign({ redirectUris: [client.redirectUri] }),
      }).ensure(),
      'ERR_REGISTRATION_REJECTED',
    )
  })

  test('RFC 7592 §2: unchanged configuration reuses the registration; a change updates it and saves the rotated token; read and delete', async (t) => {
    const bank = await startBank(t)
    const store = memoryRegistrations()
    const client = await clientOptions(bank, 'http://127.0.0.1:9/auth/callback')
    const first = await registration(bank, client, { store }).ensure()
    const again = await registration(bank, client, { store }).ensure()
    assert.equal(again.clientId, first.clientId)
    assert.equal(bank.as.requests('main', '/reg'), 1, 'no second registration')

    let statements = 0
    const changed = registration(bank, client, {
      store,
      metadata: { client_name: 'Aggregator' },
      softwareStatement: () => {
        statements += 1
        return bank.directory.sign({ redirectUris: [client.redirectUri] })
      },
    })
    const updated = await changed.ensure()
    assert.equal(updated.clientId, first.clientId)
    assert.equal(updated.metadata.client_name, 'Aggregator')
    assert.equal(statements, 1, 'a fresh software statement for the update')
    assert.notEqual(updated.registrationAccessToken, first.registrationAccessToken, 'rotated')
    assert.equal(
      (await store.get(bank.as.issuer))?.registrationAccessToken,
      updated.registrationAccessToken,
    )
    // The old token no longer works at the bank: the rotated one had to be saved.
    const stale = await fetch(first.registrationClientUri ?? '', {
      headers: { authorization: `Bearer ${first.registrationAccessToken ?? ''}` },
    })
    assert.equal(stale.status, 401)

    const read = await changed.read()
    assert.equal(read?.metadata.client_name, 'Aggregator')
    assert.equal(await changed.delete(), true)
    assert.equal(await store.get(bank.as.issuer), undefined)
    const gone = await fetch(first.registrationClientUri ?? '', {
      headers: { authorization: `Bearer ${updated.registrationAccessToken ?? ''}` },
    })
    assert.equal(gone.status, 401, 'deleted at the bank')
    assert.equal(await changed.delete(), false)
  })

  test('RFC 7591: a client_secret_basic client (oidc) gets its secret from the bank and logs in', async (t) => {
    const bank = await startBank(t, true)
    const app = await startApp({
      client: async ({ redirectUri }) =>
        registration(bank, {
          issuer: bank.as.issuer,
          redirectUri,
          profile: 'oidc',
          clientAuthMethod: 'client_secret_basic',
          scope: 'openid profile',
          algorithms: ['PS256', 'ES256'],
          allowInsecureLoopback: true,
        }).clientOptions(),
    })
    t.after(() => app.close())
    const browser = new AppBrowser(app.origin)
    const delivery = await new UserAgent().authorize(await browser.startLogin(), {
      redirectUri: app.redirectUri,
    })
    const landed = await browser.deliver(delivery)
    assert.equal(landed.status, 200, await landed.clone().text())
  })

  const missing = redisMissing()
  test(
    'a registration kept in Redis is found by another instance',
    { skip: missing },
    async (t) => {
      const bank = await startBank(t)
      const redis = await startRedis()
      t.after(() => redis.close())
      const connections = [createClient({ url: redis.url }), createClient({ url: redis.url })]
      for (const connection of connections) {
        connection.on('error', () => undefined)
        await connection.connect()
      }
      t.after(() => connections.forEach((connection) => connection.destroy()))
      const [one, two] = connections.map((connection) => redisRegistrations(connection))
      assert.ok(one !== undefined && two !== undefined)
      const client = await clientOptions(bank, 'http://127.0.0.1:9/auth/callback')
      const first = await registration(bank, client, { store: one }).ensure()
      const second = await registration(bank, client, { store: two }).ensure()
      assert.equal(second.clientId, first.clientId)
      assert.equal(second.registrationAccessToken, first.registrationAccessToken)
      assert.equal(bank.as.requests('main', '/reg'), 1)
    },
  )
})

test(
  'a Redis registration store that stops answering is ERR_REGISTRATION_STORE_UNAVAILABLE within its commandTimeout',
  { skip: redisMissing() },
  async (t) => {
    const redis = await startRedis()
    t.after(() => redis.close())
    const [connection, admin] = [createClient({ url: redis.url }), createClient({ url: redis.url })]
    for (const each of [connection, admin]) {
      each.on('error', () => undefined)
      await each.connect()
    }
    t.after(() => [connection, admin].forEach((each) => each.destroy()))
    const store = redisRegistrations(connection, { commandTimeout: 200 })
    // Every client's commands wait for a minute: a server that holds them, not a clock race.
    await admin.sendCommand(['CLIENT', 'PAUSE', '60000', 'ALL'])
    await assert.rejects(
      store.get('some-bank'),
      (error: unknown) =>
        error instanceof Error &&
        (error as { code?: unknown }).code === 'ERR_REGISTRATION_STORE_UNAVAILABLE',
    )
  },
)

describe('registration options', () => {
  const client: FapiRegistrationOptions['client'] = {
    issuer: 'https://as.example.test',
    redirectUri: 'https://app.example.test/cb',
    profile: 'oidc',
    clientAuthMethod: 'client_secret_basic',
  }
  test('a clientId in the client options is refused: the server issues it', () => {
    assert.throws(
      () =>
        fapiRegistration({
          client: { ...client, clientId: 'x' } as FapiRegistrationOptions['client'],
        }),
      (error: unknown) => error instanceof FapiConfigError && /clientId/.test(error.message),
    )
  })
  test('metadata may not override what the client derives', () => {
    fapiRegistration({ client, metadata: { client_name: 'Aggregator' } })
    assert.throws(
      () => fapiRegistration({ client, metadata: { token_endpoint_auth_method: 'none' } }),
      (error: unknown) =>
        error instanceof FapiConfigError &&
        /metadata.token_endpoint_auth_method/.test(error.message),
    )
  })
})
