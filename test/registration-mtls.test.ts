/**
 * Registration over mTLS (RFC 7591 with RFC 8705) against a real oidc-provider on https whose
 * registration endpoint has an mTLS alias and whose registration policy, like a Brazilian bank's,
 * refuses a registration made without a client certificate: a `tls_client_auth`
 * client registers its certificate's subject (`tls_client_auth_subject_dn`), a
 * `self_signed_tls_client_auth` client its certificate in `jwks`; both then log in with
 * certificate-bound tokens.
 */
import assert from 'node:assert/strict'
import type { TLSSocket } from 'node:tls'
import { describe, test, type TestContext } from 'node:test'
import {
  fapiRegistration,
  isFapiError,
  memoryRegistrations,
  type FapiClientOptions,
  type FapiRegistrationOptions,
} from '../src/index.js'
import { AppBrowser, startApp } from './support/app.js'
import { testCertificates, type TestCertificates } from './support/certs.js'
import { testDirectory, type Directory } from './support/directory.js'
import { startFapi2Provider, type StartedFapi2Provider } from './support/provider-fapi2.js'
import { registeredAt } from './support/registered-client.js'
import { fetchTrusting } from './support/tls-fetch.js'
import { UserAgent } from './support/user-agent.js'

const PROVIDER_MODULE: string = 'oidc-provider'

interface Bank {
  readonly as: StartedFapi2Provider
  readonly directory: Directory
  readonly certs: TestCertificates
  /** The subjects of the certificates the registrations were made with. */
  readonly presented: string[]
}

interface ProviderErrors {
  InvalidSoftwareStatement: new (description: string) => Error
  InvalidRequest: new (description: string) => Error
}

/** A bank on https that accepts registrations only over mTLS, at the registration alias. */
async function startBank(t: TestContext): Promise<Bank> {
  const certs = await testCertificates()
  const directory = await testDirectory()
  const { errors } = (await import(PROVIDER_MODULE)) as { errors: ProviderErrors }
  const ssa = directory.policy(errors)
  const presented: string[] = []
  const as = await startFapi2Provider({
    clients: [],
    tls: certs,
    registration: {
      mtlsAlias: true,
      async ssaPolicy(ctx, properties) {
        const socket = (ctx as { socket?: Partial<TLSSocket> }).socket
        const peer = socket?.getPeerCertificate?.()
        // A self-signed certificate is not from the bank's CA: present, not authorized.
        if (peer === undefined || !('subject' in peer) || peer.subject === undefined) {
          throw new errors.InvalidRequest('registration needs a client certificate (mTLS)')
        }
        presented.push(String(peer.subject.CN))
        await ssa(ctx, properties)
      },
    },
  })
  t.after(() => as.close())
  return { as, directory, certs, presented }
}

function mtlsClient(
  bank: Bank,
  redirectUri: string,
  method: 'tls_client_auth' | 'self_signed_tls_client_auth',
): FapiRegistrationOptions['client'] {
  const certificate = method === 'tls_client_auth' ? bank.certs.client : bank.certs.selfSigned
  return {
    issuer: bank.as.issuer,
    redirectUri,
    profile: 'fapi2-security',
    clientAuthMethod: method,
    senderConstraint: 'mtls',
    scope: 'openid profile',
    tls: { ca: bank.certs.serverCa, cert: certificate.cert, key: certificate.key },
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
    mtls: true,
    ...more,
  })
}

async function registerAndLogIn(
  t: TestContext,
  bank: Bank,
  method: 'tls_client_auth' | 'self_signed_tls_client_auth',
): Promise<FapiClientOptions> {
  let options: FapiClientOptions | undefined
  const app = await startApp({
    client: async ({ redirectUri }) => {
      options = await registration(bank, mtlsClient(bank, redirectUri, method)).clientOptions()
      return options
    },
  })
  t.after(() => app.close())
  const browser = new AppBrowser(app.origin)
  const agent = new UserAgent({ fetch: fetchTrusting(bank.certs.serverCa) })
  const delivery = await agent.authorize(await browser.startLogin(), {
    redirectUri: app.redirectUri,
  })
  const landed = await browser.deliver(delivery)
  assert.equal(landed.status, 200, await landed.clone().text())
  assert.equal(app.logins[0]?.claims.sub, 'alice')
  if (options === undefined) throw new Error('no registration')
  return options
}

describe('registration over mTLS at a real oidc-provider', () => {
  test('RFC 8705 §2.1.2: a tls_client_auth client registers over mTLS at the alias with tls_client_auth_subject_dn and logs in with certificate-bound tokens', async (t) => {
    const bank = await startBank(t)
    const options = await registerAndLogIn(t, bank, 'tls_client_auth')
    assert.equal(bank.as.requests('mtls', '/reg'), 1, 'at the registration alias')
    assert.equal(bank.as.requests('main', '/reg'), 0)
    assert.deepEqual(bank.presented, ['portal'])
    const metadata = await registeredAt(bank.as, options.clientId)
    assert.equal(metadata.token_endpoint_auth_method, 'tls_client_auth')
    assert.equal(metadata.tls_client_auth_subject_dn, 'CN=portal')
    assert.equal(metadata.tls_client_certificate_bound_access_tokens, true)
    assert.equal(bank.as.requests('mtls', '/token'), 1, 'tokens at the alias, with the certificate')
  })

  test('RFC 7592 after a registration over mTLS: a changed configuration updates it (token rotated, subject DN kept), then it is read back and deleted', async (t) => {
    const bank = await startBank(t)
    const store = memoryRegistrations()
    const client = mtlsClient(bank, 'http://127.0.0.1:9/auth/callback', 'tls_client_auth')
    const first = await registration(bank, client, { store }).ensure()
    const changed = registration(bank, client, { store, metadata: { client_name: 'Aggregator' } })
    const updated = await changed.ensure()
    assert.equal(updated.clientId, first.clientId)
    assert.notEqual(updated.registrationAccessToken, first.registrationAccessToken, 'rotated')
    const metadata = await registeredAt(bank.as, updated.clientId)
    assert.equal(metadata.client_name, 'Aggregator')
    assert.equal(metadata.tls_client_auth_subject_dn, 'CN=portal')
    assert.equal((await changed.read())?.metadata.client_name, 'Aggregator')
    assert.equal(await changed.delete(), true)
    assert.equal(await store.get(bank.as.issuer), undefined)
  })

  test('RFC 8705 §2.2: a self_signed_tls_client_auth client registers its certificate in jwks over mTLS and logs in', async (t) => {
    const bank = await startBank(t)
    const options = await registerAndLogIn(t, bank, 'self_signed_tls_client_auth')
    assert.equal(bank.as.requests('mtls', '/reg'), 1)
    assert.deepEqual(bank.presented, ['portal-self-signed'])
    const { jwks } = (await registeredAt(bank.as, options.clientId)) as {
      jwks?: { keys: { x5c?: unknown }[] }
    }
    assert.ok(
      jwks?.keys.some((key) => Array.isArray(key.x5c)),
      'the certificate is registered',
    )
  })

  test('RFC 8705: mtls false sends no certificate, so a bank that requires one refuses: ERR_REGISTRATION_REJECTED', async (t) => {
    const bank = await startBank(t)
    const store = memoryRegistrations()
    const client = mtlsClient(bank, 'http://127.0.0.1:9/auth/callback', 'tls_client_auth')
    await assert.rejects(registration(bank, client, { mtls: false, store }).ensure(), (error) => {
      assert.ok(isFapiError(error), String(error))
      assert.equal(error.code, 'ERR_REGISTRATION_REJECTED', error.message)
      assert.match(error.message, /client certificate/)
      return true
    })
    assert.equal(bank.as.requests('main', '/reg'), 1, 'at the main endpoint, without certificate')
    assert.equal(bank.as.requests('mtls', '/reg'), 0)
    assert.equal(await store.get(bank.as.issuer), undefined)
  })
})
