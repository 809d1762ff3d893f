/**
 * The bench's authorization server, in its own process so that none of its CPU is counted for
 * the relying party: static discovery metadata, a JWKS, and a token endpoint that redeems codes
 * minted beforehand (over IPC) together with their JARM responses and ID tokens. It counts every
 * HTTP request by path, so that the bench can report network calls per login.
 *
 * The token endpoint checks what a real one would: the code (single use), `redirect_uri`,
 * `code_verifier` against the S256 challenge, and the `private_key_jwt` assertion (signature,
 * `iss`, `sub`, `aud`).
 */
import { createHash, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, jwtVerify } from 'jose'
import { announce, serve } from './lib/ipc.js'
import { ALGS, generateJwkPair, privateKeyOf, publicKeyOf, randomToken } from './lib/jwt-node.js'
import type { Alg } from './lib/jwt-node.js'
import {
  AUTHORIZE_PATH,
  DISCOVERY_PATH,
  JWKS_PATH,
  TOKEN_PATH,
  type MintItem,
  type PathCounts,
} from './lib/protocol.js'

const serverKeys = new Map<Alg, { kid: string; key: KeyObject; publicJwk: JsonWebKey }>()
for (const alg of ALGS) {
  const kid = `as-${alg}-${randomUUID()}`
  const { privateJwk, publicJwk } = generateJwkPair(alg, kid)
  serverKeys.set(alg, { kid, key: privateKeyOf(privateJwk), publicJwk })
}
const clientKeys = new Map<string, KeyObject>()

interface Grant {
  readonly body: string
  readonly redirectUri: string
  readonly codeChallenge: string
  readonly clientId: string
}
const grants = new Map<string, Grant>()
const counts: PathCounts = {}

const server = createServer()
server.keepAliveTimeout = 120_000
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const metadata = JSON.stringify({
  issuer,
  authorization_endpoint: `${issuer}${AUTHORIZE_PATH}`,
  token_endpoint: `${issuer}${TOKEN_PATH}`,
  jwks_uri: `${issuer}${JWKS_PATH}`,
  scopes_supported: ['openid'],
  response_types_supported: ['code'],
  response_modes_supported: ['query', 'jwt', 'query.jwt', 'form_post.jwt'],
  grant_types_supported: ['authorization_code'],
  subject_types_supported: ['public'],
  code_challenge_methods_supported: ['S256'],
  token_endpoint_auth_methods_supported: ['private_key_jwt'],
  token_endpoint_auth_signing_alg_values_supported: [...ALGS],
  request_object_signing_alg_values_supported: [...ALGS],
  request_parameter_supported: true,
  authorization_signing_alg_values_supported: [...ALGS],
  id_token_signing_alg_values_supported: [...ALGS],
  authorization_response_iss_parameter_supported: true,
})
const jwks = JSON.stringify({ keys: [...serverKeys.values()].map((entry) => entry.publicJwk) })

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  res.end(body)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > 65_536) req.destroy(new Error('body too large'))
      else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

async function token(form: URLSearchParams): Promise<[number, string]> {
  const reject = (error: string): [number, string] => [400, JSON.stringify({ error })]
  if (form.get('grant_type') !== 'authorization_code') return reject('unsupported_grant_type')
  const code = form.get('code') ?? ''
  const grant = grants.get(code)
  if (grant === undefined) return reject('invalid_grant')
  grants.delete(code)
  if (form.get('redirect_uri') !== grant.redirectUri) return reject('invalid_grant')
  const verifier = form.get('code_verifier') ?? ''
  if (createHash('sha256').update(verifier).digest('base64url') !== grant.codeChallenge) {
    return reject('invalid_grant')
  }
  const key = clientKeys.get(grant.clientId)
  const assertion = form.get('client_assertion')
  if (key === undefined || assertion === null) return reject('invalid_client')
  try {
    const { payload } = await jwtVerify(assertion, key, { audience: issuer })
    if (payload.iss !== grant.clientId || payload.sub !== grant.clientId) throw new Error('iss')
  } catch {
    return reject('invalid_client')
  }
  return [200, grant.body]
}

server.on('request', (req: IncomingMessage, res: ServerResponse) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/'
  counts[path] = (counts[path] ?? 0) + 1
  if (req.method === 'GET' && path === DISCOVERY_PATH) return send(res, 200, metadata)
  if (req.method === 'GET' && path === JWKS_PATH) return send(res, 200, jwks)
  if (req.method === 'POST' && path === TOKEN_PATH) {
    readBody(req)
      .then((body) => token(new URLSearchParams(body)))
      .then(
        ([status, body]) => send(res, status, body),
        () => send(res, 500, '{"error":"server_error"}'),
      )
    return
  }
  send(res, 404, '{"error":"not_found"}')
})

/** Signs one JARM response and the ID token its code will be redeemed for. */
async function mint(item: MintItem): Promise<string> {
  const signer = serverKeys.get(item.alg)
  if (signer === undefined) throw new Error(`no server key for ${item.alg}`)
  const code = randomToken()
  const accessToken = randomToken()
  const header = { alg: item.alg, kid: signer.kid }
  const idToken = await new SignJWT({ nonce: item.nonce, auth_time: Math.floor(Date.now() / 1000) })
    .setProtectedHeader({ ...header, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject('alice')
    .setAudience(item.clientId)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signer.key)
  grants.set(code, {
    body: JSON.stringify({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 600,
      scope: 'openid',
      id_token: idToken,
    }),
    redirectUri: item.redirectUri,
    codeChallenge: item.codeChallenge,
    clientId: item.clientId,
  })
  return new SignJWT({ state: item.state, code })
    .setProtectedHeader(header)
    .setIssuer(issuer)
    .setAudience(item.clientId)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signer.key)
}

serve(
  {
    /** Registers a client's public key for `private_key_jwt`. */
    client(args) {
      const { clientId, publicJwk } = args as { clientId: string; publicJwk: JsonWebKey }
      clientKeys.set(clientId, publicKeyOf(publicJwk))
    },
    /** JARM `response` values, one per item, in order. */
    async mint(args) {
      const items = args as MintItem[]
      const responses: string[] = []
      for (const item of items) responses.push(await mint(item))
      return responses
    },
    counts: () => ({ ...counts }),
  },
  async () => {
    server.closeAllConnections()
    server.close()
  },
)
announce({ issuer })
