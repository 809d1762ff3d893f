/**
 * Property-based fuzzing of the callback over real HTTP: random and malformed `response` values,
 * repeated and bracketed parameters, wrong content types, bodies over the limit. Every answer must
 * be a 4xx with an error code; never a 5xx, a token request, an unhandled rejection or a crash.
 */
import fc from 'fast-check'
import { AppBrowser, startApp, type StartedApp } from './app.js'
import { generateJwks } from './keys.js'
import { startProvider, type StartedProvider } from './provider.js'

export interface FuzzReport {
  readonly cases: number
  readonly byStatus: Record<string, number>
  readonly byCode: Record<string, number>
  readonly tokenRequests: number
  readonly unexpectedErrors: number
  readonly unhandledRejections: number
}

/** Replaced by the app's real issuer when sent, so some cases pass the `iss` check. */
const ISSUER_PLACEHOLDER = '@issuer@'

const b64 = (value: string): string => Buffer.from(value, 'utf8').toString('base64url')

/** Segments that look like JWT parts: random base64url, encoded JSON of any shape, or junk. */
const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/),
  fc.jsonValue().map((value) => b64(JSON.stringify(value))),
  fc
    .record({
      alg: fc.constantFrom('none', 'HS256', 'RS256', 'PS256', 'ES256', 'EdDSA', ''),
      kid: fc.option(fc.string(), { nil: undefined }),
      jku: fc.option(fc.constant('http://127.0.0.1:1/jwks'), { nil: undefined }),
    })
    .map((header) => b64(JSON.stringify(header))),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
)

/** Well-formed JWS-looking values whose claims aim at the deeper checks (iss, key, signature). */
const jwtLike = fc.record({
  header: fc.record({
    alg: fc.constantFrom('PS256', 'ES256', 'none', 'HS256'),
    kid: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
    jwk: fc.option(fc.constant({ kty: 'oct', k: 'AA' }), { nil: undefined }),
  }),
  payload: fc.record({
    iss: fc.constantFrom(ISSUER_PLACEHOLDER, 'http://127.0.0.1:1', 42),
    aud: fc.constantFrom('portal', 'other', ['portal', 'x']),
    exp: fc.integer({ min: 0, max: 4_000_000_000 }),
    state: fc.string({ maxLength: 50 }),
    code: fc.string({ maxLength: 50 }),
  }),
  signature: fc.stringMatching(/^[A-Za-z0-9_-]{0,90}$/),
})

type JwtLike = typeof jwtLike extends fc.Arbitrary<infer T> ? T : never

/** Encodes a JWT-like value with the app's real issuer in place of the placeholder. */
function compact(value: string | JwtLike, issuer: string): string {
  if (typeof value === 'string') return value
  const payload = {
    ...value.payload,
    iss: value.payload.iss === ISSUER_PLACEHOLDER ? issuer : value.payload.iss,
  }
  return [b64(JSON.stringify(value.header)), b64(JSON.stringify(payload)), value.signature].join(
    '.',
  )
}

const responseValue = fc.oneof(
  { arbitrary: jwtLike, weight: 4 },
  fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.constantFrom('', '.', '..', '....', 'a.b.c', 'e30.e30.', 'e30.W10.AA'),
  fc.integer({ min: 16_000, max: 70_000 }).map((size) => 'A'.repeat(size)),
)

const fuzzCase = fc.record({
  /** Mostly the method the app's mode expects, so that most cases reach the JWT checks. */
  method: fc.constantFrom('expected', 'expected', 'expected', 'other', 'PUT'),
  responses: fc.oneof(
    { arbitrary: fc.tuple(responseValue), weight: 4 },
    fc.array(responseValue, { minLength: 0, maxLength: 3 }),
  ),
  bracketed: fc.constantFrom(false, false, false, false, true),
  extra: fc.array(fc.tuple(fc.constantFrom('code', 'state', 'error', 'iss', 'x'), fc.string()), {
    maxLength: 3,
  }),
  contentType: fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/json',
    'text/plain',
    'multipart/form-data; boundary=x',
    '',
  ),
  padding: fc.constantFrom(0, 0, 0, 40_000),
})

type FuzzCase = typeof fuzzCase extends fc.Arbitrary<infer T> ? T : never

function encode(c: FuzzCase, issuer: string): string {
  const params = new URLSearchParams()
  for (const value of c.responses) {
    params.append(c.bracketed ? 'response[]' : 'response', compact(value, issuer))
  }
  for (const [name, value] of c.extra) params.append(name, value)
  if (c.padding > 0) params.append('pad', 'x'.repeat(c.padding))
  return params.toString()
}

interface Target {
  readonly browser: AppBrowser
  readonly issuer: string
  readonly expects: 'GET' | 'POST'
}

async function send(target: Target, c: FuzzCase): Promise<Response> {
  const { browser } = target
  const encoded = encode(c, target.issuer)
  const method =
    c.method === 'PUT'
      ? 'PUT'
      : (c.method === 'expected') === (target.expects === 'GET')
        ? 'GET'
        : 'POST'
  if (method === 'GET') {
    // Keep the URL under Node's header limit; large values go in bodies.
    return browser.request(`/auth/callback?${encoded.slice(0, 12_000)}`)
  }
  return browser.request('/auth/callback', {
    method,
    body: encoded,
    headers: c.contentType === '' ? {} : { 'content-type': c.contentType },
  })
}

/** Starts the real authorization server and two apps (GET and POST modes), fuzzes, tears down. */
export async function fuzzCallback(options: { runs: number; seed?: number }): Promise<FuzzReport> {
  const keys = await generateJwks('ES256')
  const apps: StartedApp[] = []
  const servers: StartedProvider[] = []
  let unhandled = 0
  const onUnhandled = () => {
    unhandled += 1
  }
  process.on('unhandledRejection', onUnhandled)
  try {
    for (const mode of ['jwt', 'form_post.jwt'] as const) {
      apps.push(
        await startApp({
          client: async ({ redirectUri }) => {
            const as = await startProvider({
              fapiProfile: '2.0',
              clients: [
                {
                  clientId: 'portal',
                  redirectUri,
                  jwks: { keys: [keys.publicJwk] },
                  profile: 'fapi2-message-signing',
                  signingAlg: 'ES256',
                },
              ],
            })
            servers.push(as)
            return {
              issuer: as.issuer,
              clientId: 'portal',
              redirectUri,
              keys: { signing: [keys.privateJwk] },
              responseMode: mode,
              allowInsecureLoopback: true,
            }
          },
        }),
      )
    }
    // Each app gets a pending login, so that a lucky `state` would have something to find.
    const targets: Target[] = apps.map((app, index) => ({
      browser: new AppBrowser(app.origin),
      issuer: (servers[index] as StartedProvider).issuer,
      expects: index === 0 ? 'GET' : 'POST',
    }))
    await Promise.all(targets.map((target) => target.browser.startLogin()))

    const byStatus: Record<string, number> = {}
    const byCode: Record<string, number> = {}
    let cases = 0
    await fc.assert(
      fc.asyncProperty(fuzzCase, fc.nat(1), async (c, which) => {
        cases += 1
        const response = await send(targets[which] as Target, c)
        const text = await response.text()
        byStatus[response.status] = (byStatus[response.status] ?? 0) + 1
        let code = 'none'
        try {
          code = String((JSON.parse(text) as { error?: unknown }).error)
        } catch {
          // not JSON: fails below
        }
        byCode[code] = (byCode[code] ?? 0) + 1
        if (response.status < 400 || response.status >= 500) {
          throw new Error(`status ${response.status} for ${c.method} (${code})`)
        }
        if (!code.startsWith('ERR_')) throw new Error(`no error code in ${text.slice(0, 100)}`)
      }),
      { numRuns: options.runs, ...(options.seed === undefined ? {} : { seed: options.seed }) },
    )
    return {
      cases,
      byStatus,
      byCode,
      tokenRequests: servers.reduce((sum, as) => sum + as.requests('/token'), 0),
      unexpectedErrors: apps.reduce((sum, app) => sum + app.unexpectedErrors.length, 0),
      unhandledRejections: unhandled,
    }
  } finally {
    process.off('unhandledRejection', onUnhandled)
    await Promise.all([...apps, ...servers].map((server) => server.close()))
  }
}
