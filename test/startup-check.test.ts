/**
 * `router({ …, checkAtStartup })`: discovery and the server's JWKS are checked when the routes are
 * mounted, so an issuer or metadata mistake shows at startup, with what to change; the app keeps
 * running, and a later login fetches again.
 */
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { fapiClient, type FapiError } from '../src/index.js'
import { startHostileServer, type HostileServer } from './support/hostile-server.js'
import { generateJwks } from './support/keys.js'

const DISCOVERY = '/.well-known/openid-configuration'

type Client = (options: { issuer: string }) => ReturnType<typeof fapiClient>

async function server(t: TestContext): Promise<{ as: HostileServer; client: Client }> {
  const keys = await generateJwks('ES256')
  const as = await startHostileServer({
    clientId: 'portal',
    clientJwks: { keys: [keys.publicJwk] },
  })
  t.after(() => as.close())
  const client: Client = (options) =>
    fapiClient({
      clientId: 'portal',
      redirectUri: 'http://localhost:3000/auth/callback',
      keys: { signing: [keys.privateJwk] },
      allowInsecureLoopback: true,
      senderConstraint: 'none',
      ...options,
    })
  return { as, client }
}

/** The first error the check reports. */
function reported(): { report: (error: FapiError) => void; error: Promise<FapiError> } {
  let report: (error: FapiError) => void = () => undefined
  const error = new Promise<FapiError>((resolve) => {
    report = resolve
  })
  return { report, error }
}

test('an issuer mismatch is reported when the routes are mounted, naming both issuers', async (t) => {
  const { as, client } = await server(t)
  as.metadata = (metadata) => ({ ...metadata, issuer: `${as.issuer}/` })
  const auth = client({ issuer: as.issuer })
  const { report, error } = reported()
  auth.router(undefined, { checkAtStartup: report })
  const failure = await error
  assert.equal(failure.code, 'ERR_DISCOVERY_ISSUER_MISMATCH')
  assert.ok(failure.message.includes(`names the issuer "${as.issuer}/"`), failure.message)
  assert.ok(failure.message.includes(`configured issuer "${as.issuer}"`), failure.message)
  assert.equal(as.requests(DISCOVERY), 1, 'before any login')
})

test('checkAtStartup: true writes one console.error line; the app keeps running', async (t) => {
  const { as, client } = await server(t)
  await as.down()
  const lines: string[] = []
  const logged = new Promise<void>((resolve) => {
    t.mock.method(console, 'error', (line: unknown) => {
      lines.push(String(line))
      resolve()
    })
  })
  const auth = client({ issuer: as.issuer })
  const router = auth.router(undefined, { checkAtStartup: true })
  await logged
  assert.equal(typeof router, 'function')
  assert.equal(lines.length, 1)
  assert.match(
    lines[0] ?? '',
    /startup check of "http:\/\/127\.0\.0\.1:\d+" failed with ERR_AS_UNREACHABLE/,
  )
  assert.match(lines[0] ?? '', /the app keeps running/)
})

test('a server that is fine: nothing is reported, discovery and JWKS are cached for the first login', async (t) => {
  const { as, client } = await server(t)
  const auth = client({ issuer: as.issuer })
  const reports: FapiError[] = []
  auth.router(undefined, { checkAtStartup: (error) => reports.push(error) })
  await auth.ready()
  assert.deepEqual(reports, [])
  assert.equal(as.requests(DISCOVERY), 1)
  assert.equal(as.requests('/jwks'), 1)
})

test('without checkAtStartup nothing is fetched when the routes are mounted', async (t) => {
  const { as, client } = await server(t)
  const auth = client({ issuer: as.issuer })
  auth.router()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(as.requests(DISCOVERY), 0)
})
