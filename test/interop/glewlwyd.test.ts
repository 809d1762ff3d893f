/**
 * Interoperability with Glewlwyd (Debian's package), an OpenID Connect server written
 * independently of oidc-provider: every combination it supports logs in through express-fapi,
 * then calls userinfo and refreshes. Combinations that fail only because of Glewlwyd's own
 * deviations are asserted with the error express-fapi reports (docs/engineering/interop.md lists them).
 */
import assert from 'node:assert/strict'
import { createHash, X509Certificate } from 'node:crypto'
import { request as httpsRequest } from 'node:https'
import { after, before, describe, test } from 'node:test'
import type { Express } from 'express'
import type { FapiClient, FapiClientOptions } from '../../src/index.js'
import { AppBrowser, startApp, type StartedApp } from '../support/app.js'
import { glewlwydMissing, startGlewlwyd, type StartedGlewlwyd } from '../support/glewlwyd.js'
import { testCertificates, type TestCertificates } from '../support/certs.js'
import { fetchTrusting } from '../support/tls-fetch.js'
import {
  addUser,
  allowSubjectDn,
  authorizeAtGlewlwyd,
  glewlwydUser,
  oidcPlugin,
  registerClient,
  type Delivered,
} from '../support/glewlwyd-setup.js'
import { generateJwks, type KeyPairJwks } from '../support/keys.js'

type Alg = 'PS256' | 'ES256'
type Mode = 'jwt' | 'query.jwt' | 'form_post.jwt' | 'fragment.jwt'

/** One plugin instance per server signing algorithm (its default key signs everything). */
const plugin = (alg: Alg) => `oidc-${alg.toLowerCase()}`
const ALGS: readonly Alg[] = ['PS256', 'ES256']
const MODES: readonly Mode[] = ['jwt', 'query.jwt', 'form_post.jwt', 'fragment.jwt']

let gw: StartedGlewlwyd
const clientKeys = new Map<Alg, KeyPairJwks>()
let clients = 0

/** Routes a test calls after the login: userinfo through the resource helper, and a refresh. */
function routes(app: Express, client: FapiClient): void {
  app.get('/userinfo', (req, res, next) => {
    client
      .fetchResource(req, String(req.query.at))
      .then(async (answer) => res.json({ status: answer.status, body: await answer.text() }))
      .catch(next)
  })
  app.post('/refresh', (req, res, next) => {
    client.refresh(req).then(({ tokens }) => res.json({ tokenType: tokens.tokenType }), next)
  })
}

interface Combination {
  readonly alg: Alg
  readonly mode: Mode
  /** What Glewlwyd has registered for the client beside its keys. */
  readonly registered: { readonly responseMode: boolean }
  readonly client: Partial<FapiClientOptions>
  /** The Glewlwyd instance (default: the http one). */
  readonly server?: StartedGlewlwyd
  /** Register the client for `tls_client_auth` with this subject DN. */
  readonly tlsSubjectDn?: string
}

async function startCombination(
  t: { after: (fn: () => Promise<void>) => void },
  combination: Combination,
): Promise<{ app: StartedApp; browser: AppBrowser; clientId: string }> {
  const key = clientKeys.get(combination.alg) as KeyPairJwks
  const server = combination.server ?? gw
  clients += 1
  const clientId = `portal-${clients}`
  const app = await startApp({
    routes,
    client: async ({ redirectUri }) => {
      await registerClient(server, {
        clientId,
        redirectUri,
        jwk: key.publicJwk,
        alg: combination.alg,
        ...(combination.registered.responseMode ? { responseMode: combination.mode } : {}),
        ...(combination.tlsSubjectDn === undefined
          ? {}
          : { tlsSubjectDn: combination.tlsSubjectDn }),
      })
      return {
        issuer: server.issuer(plugin(combination.alg)),
        clientId,
        redirectUri,
        keys: { signing: [key.privateJwk] },
        responseMode: combination.mode,
        algorithms: [combination.alg],
        allowInsecureLoopback: true,
        ...combination.client,
      }
    },
  })
  t.after(() => app.close())
  return { app, browser: new AppBrowser(app.origin), clientId }
}

/** The browser hands the response to the callback as a browser would, relay pages included. */
async function deliver(browser: AppBrowser, delivered: Delivered): Promise<Response> {
  if (delivered.method === 'POST') {
    return browser.deliver({ method: 'POST', url: delivered.url, body: delivered.body })
  }
  const url = new URL(delivered.url)
  if (url.hash === '') return browser.deliver({ method: 'GET', url: url.href })
  // fragment.jwt: the callback answers the fragment-less GET with its relay page, whose script
  // posts the fragment's parameters back from the app's own origin.
  const fragment = new URLSearchParams(url.hash.slice(1))
  url.hash = ''
  const relay = await browser.deliver({ method: 'GET', url: url.href })
  assert.equal(relay.status, 200, 'the fragment relay page')
  await relay.text()
  return browser.deliver({ method: 'POST', url: url.href, body: fragment })
}

/** A full login, then userinfo and a refresh; returns what the callback answered. */
async function loginThenUse(
  browser: AppBrowser,
  clientId: string,
  issuer: string,
  expectedTokenType: string,
  server: StartedGlewlwyd = gw,
): Promise<void> {
  const authorizationUrl = await browser.startLogin()
  const delivered = await authorizeAtGlewlwyd(
    server,
    await glewlwydUser(server, clientId),
    authorizationUrl,
  )
  const answer = await deliver(browser, delivered)
  const text = await answer.text()
  assert.equal(answer.status, 200, text.slice(0, 400))
  assert.equal(typeof (JSON.parse(text) as { sub: unknown }).sub, 'string')

  const userinfo = (await (
    await browser.request(`/userinfo?at=${encodeURIComponent(`${issuer}/userinfo`)}`)
  ).json()) as {
    status: number
    body: string
  }
  assert.equal(userinfo.status, 200, userinfo.body.slice(0, 300))
  assert.equal(typeof (JSON.parse(userinfo.body) as { sub: unknown }).sub, 'string')

  const refreshed = await browser.request('/refresh', { method: 'POST' })
  const refreshedText = await refreshed.text()
  assert.equal(refreshed.status, 200, refreshedText.slice(0, 400))
  assert.equal((JSON.parse(refreshedText) as { tokenType: string }).tokenType, expectedTokenType)
}

/** The error code the app rendered for a response. */
async function errorOf(answer: Response): Promise<string> {
  const body = (await answer.json()) as { error: string }
  return body.error
}

describe('Glewlwyd interop', { skip: glewlwydMissing, timeout: 180_000 }, () => {
  before(async () => {
    gw = await startGlewlwyd()
    for (const alg of ALGS) clientKeys.set(alg, await generateJwks(alg, `client-${alg}`))
    for (const alg of ALGS) await oidcPlugin(gw, plugin(alg), alg)
    await addUser(gw)
  })
  after(async () => {
    await gw?.close()
  })

  // FAPI 1.0 Advanced allows the endpoint URL as the assertion audience, which Glewlwyd needs.
  // Tokens are unbound: Glewlwyd serves plain http here, so no certificate-bound tokens.
  const fapi1: Partial<FapiClientOptions> = {
    profile: 'fapi1-advanced',
    clientAssertionAudience: 'endpoint',
    senderConstraint: 'none',
  }

  for (const par of [false, true]) {
    for (const mode of MODES) {
      for (const alg of ALGS) {
        test(`fapi1-advanced, ${par ? 'PAR' : 'by value'}, ${mode}, ${alg}: login, userinfo, refresh`, async (t) => {
          const { browser, clientId } = await startCombination(t, {
            alg,
            mode,
            registered: { responseMode: true },
            client: { ...fapi1, pushedAuthorizationRequests: par },
          })
          await loginThenUse(browser, clientId, gw.issuer(plugin(alg)), 'Bearer')
        })
      }
    }
  }

  test('Glewlwyd ignores a response_mode pushed through PAR unless registered: ERR_RESPONSE_MODE_DOWNGRADE', async (t) => {
    const { browser, clientId } = await startCombination(t, {
      alg: 'ES256',
      mode: 'jwt',
      registered: { responseMode: false },
      client: { ...fapi1, pushedAuthorizationRequests: true },
    })
    const delivered = await authorizeAtGlewlwyd(
      gw,
      await glewlwydUser(gw, clientId),
      await browser.startLogin(),
    )
    const answer = await deliver(browser, delivered)
    assert.equal(answer.status, 400)
    assert.equal(await errorOf(answer), 'ERR_RESPONSE_MODE_DOWNGRADE')
  })

  for (const senderConstraint of ['none', 'dpop'] as const) {
    test(`fapi2-message-signing, PAR, jwt, ${senderConstraint === 'dpop' ? 'DPoP' : 'unbound'}: Glewlwyd refuses the issuer as assertion audience (ERR_CLIENT_AUTH_REFUSED)`, async (t) => {
      const { browser } = await startCombination(t, {
        alg: 'ES256',
        mode: 'jwt',
        registered: { responseMode: true },
        client: { profile: 'fapi2-message-signing', senderConstraint },
      })
      const answer = await browser.request('/auth/login')
      assert.equal(answer.status, 502)
      assert.equal(await errorOf(answer), 'ERR_CLIENT_AUTH_REFUSED')
    })

    // The same messages (PAR, JAR, JARM, PKCE) under profile "oidc", which allows the endpoint
    // URL as the audience: what a FAPI 2.0 Message Signing login with Glewlwyd can be today.
    test(`oidc with PAR, JAR, jwt, ${senderConstraint === 'dpop' ? 'DPoP' : 'unbound'}, endpoint audience: login, userinfo, refresh`, async (t) => {
      const { browser, clientId } = await startCombination(t, {
        alg: 'ES256',
        mode: 'jwt',
        registered: { responseMode: true },
        client: {
          profile: 'oidc',
          pushedAuthorizationRequests: true,
          requestObject: true,
          clientAssertionAudience: 'endpoint',
          senderConstraint,
        },
      })
      await loginThenUse(
        browser,
        clientId,
        gw.issuer(plugin('ES256')),
        senderConstraint === 'dpop' ? 'DPoP' : 'Bearer',
      )
    })
  }
})

/** A GET over https with the test CA and, if given, a client certificate. */
async function httpsGet(
  url: string,
  options: { ca: string; cert?: string; key?: string; authorization: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      url,
      {
        ca: options.ca,
        ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
        headers: { authorization: options.authorization },
      },
      (answer) => {
        let body = ''
        answer.setEncoding('utf8')
        answer.on('data', (chunk: string) => (body += chunk))
        answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body }))
        answer.on('error', reject)
      },
    )
    outgoing.setTimeout(10_000, () => outgoing.destroy(new Error('timeout')))
    outgoing.on('error', reject)
    outgoing.end()
  })
}

/** RFC 8705 §3.1: the base64url SHA-256 of the certificate's DER. */
function x5tS256(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url')
}

/**
 * mTLS (RFC 8705) with Glewlwyd serving https itself: its certificate from the test CA, client
 * certificates requested and checked against the client CA, the OIDC plugin reading the
 * certificate from the TLS session only. One Glewlwyd instance for every https case.
 */
describe(
  'Glewlwyd interop over https: tls_client_auth',
  { skip: glewlwydMissing, timeout: 120_000 },
  () => {
    let gws: StartedGlewlwyd
    let certs: TestCertificates
    before(async () => {
      certs = await testCertificates()
      gws = await startGlewlwyd({
        tls: { cert: certs.server.cert, key: certs.server.key, clientCa: certs.clientCa },
        fetch: fetchTrusting(certs.serverCa),
      })
      if (!clientKeys.has('ES256'))
        clientKeys.set('ES256', await generateJwks('ES256', 'client-ES256'))
      await oidcPlugin(gws, plugin('ES256'), 'ES256', { mtls: true })
      await allowSubjectDn(gws)
      await addUser(gws)
    })
    after(async () => {
      await gws?.close()
    })

    const mtls = (par: boolean, senderConstraint: 'none' | 'mtls'): Combination => ({
      alg: 'ES256',
      mode: 'jwt',
      registered: { responseMode: true },
      server: gws,
      tlsSubjectDn: 'CN=portal',
      client: {
        profile: 'fapi1-advanced',
        clientAuthMethod: 'tls_client_auth',
        senderConstraint,
        pushedAuthorizationRequests: par,
        tls: { cert: certs.client.cert, key: certs.client.key, ca: certs.serverCa },
      },
    })

    test("fapi1-advanced, by value, jwt, ES256, tls_client_auth: login, userinfo, refresh; the token carries cnf x5t#S256 but Glewlwyd's userinfo does not check it", async (t) => {
      const { app, browser, clientId } = await startCombination(t, mtls(false, 'none'))
      const issuer = gws.issuer(plugin('ES256'))
      await loginThenUse(browser, clientId, issuer, 'Bearer', gws)
      const accessToken = app.logins[0]?.tokens.accessToken ?? ''
      const claims = JSON.parse(
        Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8'),
      ) as { cnf?: Record<string, unknown> }
      // RFC 8705 §3.1: the token is bound to the certificate of the token request...
      assert.equal(claims.cnf?.['x5t#S256'], x5tS256(certs.client.cert))
      // ...but Glewlwyd's userinfo does not check the binding (RFC 8705 §3 requires it): it
      // answers the token without a certificate and with another client's certificate alike.
      for (const presented of [undefined, certs.intruder]) {
        const answer = await httpsGet(`${issuer}/userinfo`, {
          ca: certs.serverCa,
          ...(presented ?? {}),
          authorization: `Bearer ${accessToken}`,
        })
        assert.equal(answer.status, 200, presented === undefined ? 'no certificate' : 'intruder')
      }
    })

    test('fapi1-advanced, by value, tls_client_auth, senderConstraint mtls: Glewlwyd does not advertise tls_client_certificate_bound_access_tokens (ERR_DISCOVERY_INVALID)', async (t) => {
      const { browser } = await startCombination(t, mtls(false, 'mtls'))
      const answer = await browser.request('/auth/login')
      assert.equal(answer.status, 502)
      assert.equal(await errorOf(answer), 'ERR_DISCOVERY_INVALID')
    })

    test('fapi1-advanced, PAR, tls_client_auth: Glewlwyd refuses a pushed request object from a tls_client_auth client (ERR_CLIENT_AUTH_REFUSED)', async (t) => {
      const { browser } = await startCombination(t, mtls(true, 'none'))
      const answer = await browser.request('/auth/login')
      assert.equal(answer.status, 502)
      assert.equal(await errorOf(answer), 'ERR_CLIENT_AUTH_REFUSED')
    })
  },
)
