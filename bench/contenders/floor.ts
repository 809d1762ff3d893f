/**
 * The floors: hand-written Express 5 routes that do the work a FAPI login and callback cannot
 * avoid, and nothing else.
 *
 * Login: three random values (state, nonce, PKCE verifier) and the S256 challenge, stored in
 * express-session; one request object (same header and claims as express-fapi's) signed with
 * Node's `crypto.sign` in the threadpool, or with jose, or not at all; a 303 with the request
 * object by value.
 *
 * Callback: one JARM verification, one client assertion signed, one token POST, one ID token
 * verified (nonce included), `session.regenerate()` and one session write, a 303.
 */
import { createHash, type KeyObject } from 'node:crypto'
import { Agent, request } from 'node:http'
import type { Request, RequestHandler } from 'express'
import { SignJWT, jwtVerify } from 'jose'
import { privateKeyOf, randomToken, signJwtNode, verifyJwtNode, type Alg } from '../lib/jwt-node.js'
import { discover, regenerate, route, type Metadata, type RouteContext } from './context.js'

export type FloorCrypto = 'none' | 'node' | 'jose'

type Signer = (header: Record<string, string>, payload: object) => Promise<string>

function signer(kind: FloorCrypto, alg: Alg, key: KeyObject): Signer {
  if (kind === 'node') return (header, payload) => signJwtNode(alg, key, header, payload)
  if (kind === 'jose') {
    return (header, payload) =>
      new SignJWT({ ...payload }).setProtectedHeader({ ...header, alg }).sign(key)
  }
  return async (header, payload) => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    return `${encode({ ...header, alg })}.${encode(payload)}.`
  }
}

/** The login floor. */
export async function floorLogin(
  kind: FloorCrypto,
  ctx: RouteContext,
): Promise<{ handler: RequestHandler; metadata: Metadata }> {
  const metadata = await discover(ctx.issuer)
  const sign = signer(kind, ctx.alg, privateKeyOf(ctx.privateJwk))
  const header = { kid: ctx.privateJwk.kid, typ: 'oauth-authz-req+jwt' }
  const base =
    `${metadata.authorizationEndpoint}?client_id=${encodeURIComponent(ctx.clientId)}` +
    '&response_type=code&scope=openid&request='
  const handler = route(async (req, res) => {
    const state = randomToken()
    const nonce = randomToken()
    const codeVerifier = randomToken()
    req.session.pending = { state, nonce, codeVerifier }
    const now = Math.floor(Date.now() / 1000)
    const requestObject = await sign(header, {
      client_id: ctx.clientId,
      response_type: 'code',
      response_mode: 'jwt',
      redirect_uri: ctx.redirectUri,
      scope: 'openid',
      state,
      nonce,
      code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
      iss: ctx.clientId,
      aud: ctx.issuer,
      iat: now,
      nbf: now,
      exp: now + 300,
      jti: randomToken(),
    })
    res.redirect(303, base + requestObject)
  })
  return { handler, metadata }
}

type Verifier = (jwt: string) => Promise<Record<string, unknown>>
type Poster = (url: string, form: string) => Promise<Record<string, unknown>>

/** POST with node:http and a keep-alive agent. */
function nodePoster(): Poster {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  return (url, form) =>
    new Promise((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(form),
            accept: 'application/json',
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            try {
              if (res.statusCode !== 200) throw new Error(`token: HTTP ${res.statusCode}`)
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)))
            }
          })
          res.on('error', reject)
        },
      )
      outgoing.setTimeout(5_000, () => outgoing.destroy(new Error('token: timeout')))
      outgoing.on('error', reject)
      outgoing.end(form)
    })
}

/** POST with fetch (undici), as most hand-written code does. */
const fetchPoster: Poster = async (url, form) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: form,
    signal: AbortSignal.timeout(5_000),
  })
  if (response.status !== 200) throw new Error(`token: HTTP ${response.status}`)
  return (await response.json()) as Record<string, unknown>
}

function verifier(kind: 'node' | 'jose', ctx: RouteContext, metadata: Metadata): Verifier {
  const expect = { issuer: ctx.issuer, audience: ctx.clientId }
  if (kind === 'node') {
    return (jwt) => verifyJwtNode(jwt, { ...expect, alg: ctx.alg, keys: metadata.keys })
  }
  return async (jwt) => {
    const { payload } = await jwtVerify(
      jwt,
      async (header) => {
        const key = header.kid === undefined ? undefined : metadata.keys.get(header.kid)
        if (key === undefined) throw new Error('unknown kid')
        return key
      },
      { ...expect, algorithms: [ctx.alg], requiredClaims: ['exp'] },
    )
    return payload
  }
}

function stringOf(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`${what} missing`)
  return value
}

/** The callback floor; its login is the login floor with the same crypto. */
export async function floorCallback(
  kind: 'node' | 'jose',
  ctx: RouteContext,
): Promise<{ login: RequestHandler; callback: RequestHandler }> {
  const { handler: login, metadata } = await floorLogin(kind, ctx)
  const key = privateKeyOf(ctx.privateJwk)
  const sign = signer(kind, ctx.alg, key)
  const verify = verifier(kind, ctx, metadata)
  const post = kind === 'node' ? nodePoster() : fetchPoster
  const callback = route(async (req: Request, res) => {
    const response = stringOf(req.query.response, 'response')
    const jarm = await verify(response)
    const pending = req.session.pending
    if (pending === undefined || pending.state !== jarm.state) throw new Error('unknown state')
    const code = stringOf(jarm.code, 'code')
    delete req.session.pending
    const now = Math.floor(Date.now() / 1000)
    const assertion = await sign(
      { kid: ctx.privateJwk.kid },
      {
        iss: ctx.clientId,
        sub: ctx.clientId,
        aud: ctx.issuer,
        jti: randomToken(),
        iat: now,
        exp: now + 60,
      },
    )
    const tokens = await post(
      metadata.tokenEndpoint,
      new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: ctx.redirectUri,
        code_verifier: pending.codeVerifier,
        client_id: ctx.clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }).toString(),
    )
    const accessToken = stringOf(tokens.access_token, 'access_token')
    if (String(tokens.token_type).toLowerCase() !== 'bearer') throw new Error('token_type')
    const idToken = stringOf(tokens.id_token, 'id_token')
    const claims = await verify(idToken)
    if (claims.nonce !== pending.nonce) throw new Error('nonce')
    stringOf(claims.sub, 'sub')
    await regenerate(req)
    req.session.user = {
      claims,
      accessToken,
      idToken,
      expiresAt:
        typeof tokens.expires_in === 'number' ? Date.now() + tokens.expires_in * 1000 : undefined,
      scope: typeof tokens.scope === 'string' ? tokens.scope : 'openid',
    }
    res.redirect(303, '/')
  })
  return { login, callback }
}
