/**
 * Glewlwyd's side of the interop suite, through its admin REST API: the OIDC plugin (JAR, PAR,
 * JARM, PKCE, DPoP, RFC 9207 `iss`), a user, clients with inline JWKS and `private_key_jwt`, and
 * the user's login through its REST login API with a cookie-jar user agent.
 */
import type { JWK } from 'jose'
import type { StartedGlewlwyd } from './glewlwyd.js'
import { generateJwks } from './keys.js'
import { UserAgent } from './user-agent.js'

const USER = { username: 'alice', password: 'alice-interop-password' }

/**
 * Adds an OIDC plugin instance `name` with a PS256 and an ES256 key made for this run; it signs
 * JARM responses and ID tokens with the `alg` key (its default key: Glewlwyd ignores a client's
 * registered `authorization_signed_response_alg` and `sign_kid` for JARM).
 */
export async function oidcPlugin(
  gw: StartedGlewlwyd,
  name: string,
  alg: 'PS256' | 'ES256',
  options: { readonly mtls?: boolean } = {},
): Promise<void> {
  // Glewlwyd signs JARM responses with the first key of its JWKS whatever `default-kid` says:
  // the key of `alg` goes first.
  const other = alg === 'PS256' ? 'ES256' : 'PS256'
  const keys = await Promise.all([
    generateJwks(alg, `srv-${alg}`),
    generateJwks(other, `srv-${other}`),
  ])
  await gw.admin('POST', '/mod/plugin/', {
    module: 'oidc',
    name,
    display_name: name,
    enabled: true,
    parameters: {
      iss: gw.issuer(name),
      'jwks-private': JSON.stringify({ keys: keys.map((key) => key.privateJwk) }),
      'default-kid': `srv-${alg}`,
      'jwks-show': true,
      'subject-type': 'public',
      'access-token-duration': 3600,
      'refresh-token-duration': 1209600,
      'code-duration': 600,
      'refresh-token-rolling': true,
      'allow-non-oidc': false,
      'auth-type-code-enabled': true,
      'auth-type-code-revoke-replayed': true,
      'auth-type-refresh-enabled': true,
      'request-parameter-allow': true,
      'request-maximum-exp': 3600,
      'client-jwks-parameter': 'jwks',
      'client-jwks_uri-parameter': 'jwks_uri',
      'client-pubkey-parameter': 'pubkey',
      'pkce-allowed': true,
      'pkce-method-plain-allowed': false,
      'oauth-par-allowed': true,
      'oauth-par-duration': 90,
      'oauth-par-request_uri-prefix': 'urn:ietf:params:oauth:request_uri:',
      'oauth-fapi-allow-jarm': true,
      'oauth-dpop-allowed': true,
      'oauth-dpop-iat-duration': 60,
      'oauth-as-iss-id': true,
      // RFC 8705: the client certificate from the TLS session only (never from a header, which
      // anyone could send to a Glewlwyd that is not behind a proxy), no self-signed ones.
      ...(options.mtls === true
        ? {
            'client-cert-source': 'TLS',
            'client-cert-use-endpoint-aliases': false,
            'client-cert-self-signed-allowed': false,
          }
        : {}),
    },
  })
}

/** Adds the test user. */
export async function addUser(gw: StartedGlewlwyd): Promise<void> {
  await gw.admin('POST', '/user/', {
    ...USER,
    name: 'Alice',
    email: 'alice@example.test',
    enabled: true,
    scope: ['openid'],
  })
}

/** Registers a confidential `private_key_jwt` client with an inline JWKS. */
export async function registerClient(
  gw: StartedGlewlwyd,
  client: {
    readonly clientId: string
    readonly redirectUri: string
    readonly jwk: JWK
    /** The client's key alg, registered as its `authorization_signed_response_alg` too. */
    readonly alg: 'PS256' | 'ES256'
    /** Register the response mode (Glewlwyd ignores a pushed one otherwise). */
    readonly responseMode?: string
    /** `tls_client_auth` with this certificate subject DN instead of `private_key_jwt`. */
    readonly tlsSubjectDn?: string
  },
): Promise<void> {
  await gw.admin('POST', '/client/', {
    client_id: client.clientId,
    name: client.clientId,
    confidential: true,
    enabled: true,
    redirect_uri: [client.redirectUri],
    authorization_type: ['code', 'refresh_token'],
    scope: ['openid'],
    jwks: { keys: [client.jwk] },
    ...(client.tlsSubjectDn === undefined
      ? { token_endpoint_auth_method: ['private_key_jwt'] }
      : {
          token_endpoint_auth_method: ['tls_client_auth'],
          tls_client_auth_subject_dn: client.tlsSubjectDn,
        }),
    ...(client.responseMode === undefined
      ? {}
      : { response_mode: client.responseMode, authorization_signed_response_alg: client.alg }),
  })
}

/** A user agent signed in at Glewlwyd as the test user, who has granted `openid` to the client. */
export async function glewlwydUser(gw: StartedGlewlwyd, clientId: string): Promise<UserAgent> {
  const agent = new UserAgent(gw.fetch ? { fetch: gw.fetch } : {})
  const login = await agent.fetch(`${gw.origin}/api/auth/`, { method: 'POST', json: USER })
  if (login.status !== 200) throw new Error(`Glewlwyd login: HTTP ${login.status}`)
  const grant = await agent.fetch(`${gw.origin}/api/auth/grant/${encodeURIComponent(clientId)}`, {
    method: 'PUT',
    json: { scope: 'openid' },
  })
  if (grant.status !== 200) throw new Error(`Glewlwyd grant: HTTP ${grant.status}`)
  return agent
}

/** How the browser arrives at the redirect URI. */
export type Delivered =
  | { readonly method: 'GET'; readonly url: string }
  | { readonly method: 'POST'; readonly url: string; readonly body: URLSearchParams }

/** The fields of the first self-submitting form of a page (form_post). */
function postedForm(html: string, base: string): Delivered | undefined {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html)
  if (form === null) return undefined
  const action = /action\s*=\s*"([^"]*)"/i.exec(form[1] ?? '')?.[1]
  if (action === undefined) return undefined
  const body = new URLSearchParams()
  for (const input of (form[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
    const name = /name\s*=\s*"([^"]*)"/i.exec(input[1] ?? '')?.[1]
    const value = /value\s*=\s*"([^"]*)"/i.exec(input[1] ?? '')?.[1]
    if (name !== undefined) body.append(name, value ?? '')
  }
  return { method: 'POST', url: new URL(action.replace(/&amp;/g, '&'), base).href, body }
}

/**
 * Follows the authorization URL as the signed-in user: Glewlwyd's login page is passed the way
 * its web app continues (`g_continue` on the callback URL it names), then the answer is a
 * redirect to the client or a self-posting form.
 */
export async function authorizeAtGlewlwyd(
  gw: StartedGlewlwyd,
  agent: UserAgent,
  authorizationUrl: string,
): Promise<Delivered> {
  let answer = await agent.fetch(authorizationUrl)
  const location = answer.headers.get('location') ?? ''
  if (answer.status === 302 && location.includes('/login.html')) {
    const callback = new URL(location, gw.origin).searchParams.get('callback_url')
    if (callback === null) throw new Error('Glewlwyd login page without callback_url')
    await answer.text()
    answer = await agent.fetch(`${callback}&g_continue`)
  }
  const text = await answer.text()
  const next = answer.headers.get('location')
  if (answer.status === 302 && next !== null) return { method: 'GET', url: next }
  const form = answer.status === 200 ? postedForm(text, gw.origin) : undefined
  if (form !== undefined) return form
  throw new Error(`Glewlwyd authorization: HTTP ${answer.status} ${text.slice(0, 300)}`)
}

/**
 * Lets the package's client database module store `tls_client_auth_subject_dn`: its data format
 * from the init script lists the `tls_client_auth_san_*` properties but not the subject DN.
 */
export async function allowSubjectDn(gw: StartedGlewlwyd): Promise<void> {
  const module = (await gw.admin('GET', '/mod/client/database')) as {
    parameters: { 'data-format': Record<string, unknown> }
  }
  module.parameters['data-format'].tls_client_auth_subject_dn = {
    multiple: false,
    read: true,
    write: true,
  }
  await gw.admin('PUT', '/mod/client/database', module)
  // The running instance keeps its data format until it is reset.
  await gw.admin('PUT', '/mod/client/database/reset')
}
