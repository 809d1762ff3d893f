/**
 * Request objects by reference (RFC 9101 §5.2): under `oidc` and `fapi1-advanced` without PAR, the
 * app hosts the signed request object at an unguessable URL of its own (the router's route),
 * served once within a short lifetime; the browser carries `client_id` and `request_uri` (with
 * the OIDC duplicates of `response_type` and `scope`), never the object. The hostile server
 * fetches it.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fapiClient, type FapiClientOptions } from '../src/index.js'
import { AppBrowser } from './support/app.js'
import { expectLogin, setup, type SetupOptions } from './support/hostile-fixture.js'
import { generateJwks } from './support/keys.js'

function byReference(client: Partial<FapiClientOptions> = {}, now?: () => number): SetupOptions {
  return {
    client: {
      profile: 'oidc',
      requestObject: true,
      requestObjectByReference: true,
      ...client,
    },
    ...(now ? { now } : {}),
    routes: (app, auth) => {
      app.use(auth.router({ login: false, callback: false, logout: false, jwks: false }))
    },
  }
}

describe('RFC 9101 §5.2 request objects by reference', () => {
  test('RFC 9101 §5.2: the server fetches the request object from the app; the browser carries client_id and request_uri', async (t) => {
    const fx = await setup(t, byReference())
    const authorizationUrl = await fx.browser.startLogin()
    const url = new URL(authorizationUrl)
    assert.equal(url.searchParams.get('request'), null, 'never the object in the browser')
    const requestUri = url.searchParams.get('request_uri') ?? ''
    assert.ok(requestUri.startsWith(`${fx.app.origin}/auth/request-objects/`), requestUri)
    assert.match(requestUri.split('/').at(-1) ?? '', /^[A-Za-z0-9_-]{43,}$/, 'unguessable')
    assert.deepEqual([...url.searchParams.keys()].sort(), [
      'client_id',
      'request_uri',
      'response_type',
      'scope',
    ])
    await expectLogin(fx, await fx.as.authorize(authorizationUrl))
    assert.equal(fx.as.lastPushed().requestObject?.payload.client_id, 'portal')
  })

  test('RFC 9101 §5.2, request objects bounded per pending login: 1000 anonymous logins never evict a pending one; a full store is ERR_REQUEST_OBJECT_STORE_FULL (503)', async (t) => {
    const fx = await setup(t, byReference())
    const authorizationUrl = await fx.browser.startLogin()
    // Anonymous logins from other browsers, bounded: the store's capacity.
    let refused: Response | undefined
    for (let i = 0; i < 1001 && refused === undefined; i += 1) {
      const answer = await new AppBrowser(fx.app.origin).request('/auth/login')
      if (answer.status !== 303) refused = answer
    }
    assert.ok(refused !== undefined, 'the store filled up')
    assert.equal(refused.status, 503)
    assert.match(await refused.text(), /ERR_REQUEST_OBJECT_STORE_FULL/)
    // The pending user's object is still there: the server's fetch finds it.
    await expectLogin(fx, await fx.as.authorize(authorizationUrl))
  })

  test('RFC 9101 §5.2: a request object by reference is served once; a second fetch is ERR_REQUEST_OBJECT_NOT_FOUND', async (t) => {
    const fx = await setup(t, byReference())
    const authorizationUrl = await fx.browser.startLogin()
    const requestUri = new URL(authorizationUrl).searchParams.get('request_uri') ?? ''
    await fx.as.authorize(authorizationUrl)
    const again = await fetch(requestUri)
    assert.equal(again.status, 404)
    assert.match(await again.text(), /ERR_REQUEST_OBJECT_NOT_FOUND/)
    await assert.rejects(
      fx.as.authorize(authorizationUrl),
      /HTTP 404/,
      'the server cannot use it twice',
    )
  })

  test('RFC 9101 §5.2: a request object by reference past its short lifetime is gone', async (t) => {
    let offset = 0
    const fx = await setup(
      t,
      byReference(
        { profile: 'fapi1-advanced', pushedAuthorizationRequests: false, senderConstraint: 'none' },
        () => Date.now() + offset,
      ),
    )
    const authorizationUrl = await fx.browser.startLogin()
    offset = 61_000
    const requestUri = new URL(authorizationUrl).searchParams.get('request_uri') ?? ''
    const late = await fetch(requestUri)
    assert.equal(late.status, 404)
  })

  test('RFC 9101 §5.2: an unknown request object id is ERR_REQUEST_OBJECT_NOT_FOUND', async (t) => {
    const fx = await setup(t, byReference())
    const answer = await fetch(`${fx.app.origin}/auth/request-objects/${'A'.repeat(43)}`)
    assert.equal(answer.status, 404)
  })

  test('RFC 9101 §5.2: a server whose request_uri_parameter_supported is false refuses the login (ERR_DISCOVERY_INVALID)', async (t) => {
    const fx = await setup(t, byReference())
    fx.as.metadata = (metadata) => ({ ...metadata, request_uri_parameter_supported: false })
    const answer = await fx.browser.request('/auth/login')
    assert.equal(answer.status, 502)
    assert.equal(((await answer.json()) as { error?: string }).error, 'ERR_DISCOVERY_INVALID')
  })

  test('RFC 9101 §5.2: requestObjectByReference is refused at startup under FAPI 2.0 and with PAR', async () => {
    const { privateJwk } = await generateJwks('ES256', 'by-ref')
    const base: FapiClientOptions = {
      issuer: 'https://as.example.test',
      clientId: 'portal',
      redirectUri: 'https://portal.example.test/auth/callback',
      keys: { signing: [privateJwk] },
      requestObjectByReference: true,
    }
    assert.throws(() => fapiClient(base), /requestObjectByReference/)
    assert.throws(
      () =>
        fapiClient({
          ...base,
          profile: 'fapi1-advanced',
          senderConstraint: 'none',
          pushedAuthorizationRequests: true,
        }),
      /requestObjectByReference/,
    )
    assert.throws(() => fapiClient({ ...base, profile: 'oidc' }), /requestObjectByReference/)
  })
})
