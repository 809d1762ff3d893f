/**
 * The `onEvent` trace: a listener can never break a login or the process (sync or async, throwing
 * or rejecting), and every event and debug line shows a value only if its name is on the
 * allow-list of public parameters.
 */
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { randomUUID } from 'node:crypto'
import { describe, test, type TestContext } from 'node:test'
import { captureDebugLines } from './support/debug-capture.js'
import fc from 'fast-check'
import { RESERVED_PARAMS } from '../src/config/index.js'
import type { ClientContext } from '../src/core/flows/context.js'
import { PUBLIC_NAMES } from '../src/core/flows/redaction.js'
import { emit } from '../src/core/flows/trace.js'
import type { AuthorizationParams, FapiClientOptions, FapiEvent } from '../src/index.js'
import { clientKey, CLIENT_ID, setup } from './support/hostile-fixture.js'
import { startHostileServer, type HostileServer } from './support/hostile-server.js'

const lines = captureDebugLines()

describe('onEvent: the app listener never breaks a login or the process', () => {
  test('onEvent safety: an async listener that rejects does not end the process (default unhandled-rejection mode), and the next login starts', async (t) => {
    const key = await clientKey('ES256')
    const as = await startHostileServer({
      clientId: CLIENT_ID,
      clientJwks: { keys: [key.publicJwk] },
      alg: 'PS256',
    })
    t.after(() => as.close())
    const child = fork(new URL('./support/listener-app.ts', import.meta.url), {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        ISSUER: as.issuer,
        CLIENT_JWK: JSON.stringify(key.privateJwk),
        DEBUG: 'express-fapi:events',
      },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const exited = once(child, 'exit')
    t.after(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill()
      await exited
    })
    const [message] = (await once(child, 'message')) as [{ origin: string }]
    const { origin } = message
    /** A turn of the child's event loop: `pong`, or its exit. */
    const roundTrip = async (): Promise<string> => {
      const answer = once(child, 'message').then(([reply]) => String(reply))
      child.send('ping')
      return Promise.race([answer, exited.then(([code]) => `exited with ${String(code)}`)])
    }
    for (const attempt of [1, 2]) {
      const response = await fetch(`${origin}/auth/login`, { redirect: 'manual' }).catch(
        (error: unknown) => error,
      )
      assert.ok(
        response instanceof Response,
        `login ${attempt}: the app is gone (${String(response)}); stderr: ${stderr.slice(0, 400)}`,
      )
      assert.equal(response.status, 303, `login ${attempt}`)
      assert.equal(
        await roundTrip(),
        'pong',
        `after login ${attempt}; stderr: ${stderr.slice(0, 400)}`,
      )
    }
    assert.equal(child.exitCode, null, 'the app process is still running')
    child.send('stop')
    const [code] = await exited
    assert.equal(code, 0)
    // Counted and logged: each event of both logins, by type, never with the listener's message.
    assert.match(
      stderr,
      /onEvent listener failed on event login\.started \(Error\); ignored, 1 failures so far/,
    )
    assert.match(
      stderr,
      /onEvent listener failed on event authorization-redirect \(Error\); ignored, 10 failures so far/,
    )
    assert.doesNotMatch(stderr, /audit service down/)
  })
})

/** A login with these per-login parameters, run to its end; its events and debug lines. */
interface Traced {
  readonly events: FapiEvent[]
  readonly lines: string[]
  readonly status: number
  readonly body: string
}

interface Tracer {
  readonly as: HostileServer
  run(params: AuthorizationParams): Promise<Traced>
}

/** One hostile server and app whose `GET /auth/login-with` logins use the given parameters. */
async function tracer(t: TestContext, client: Partial<FapiClientOptions> = {}): Promise<Tracer> {
  let params: AuthorizationParams = {}
  let events: FapiEvent[] = []
  const fx = await setup(t, {
    client: {
      grantedAuthorizationDetails: 'any',
      onEvent: (event) => {
        events.push(event)
      },
      ...client,
    },
    routes: (app, fapi) => {
      app.get('/auth/login-with', fapi.login({ authorizationParams: () => params }))
    },
  })
  return {
    as: fx.as,
    async run(next) {
      params = next
      events = []
      const from = lines.length
      const browser = fx.newBrowser()
      const started = await browser.request('/auth/login-with')
      assert.equal(started.status, 303, (await started.text()).slice(0, 300))
      const authorized = await fx.as.authorize(started.headers.get('location') ?? '')
      const landed = await browser.deliver(authorized)
      const body = await landed.text()
      return { events, lines: lines.slice(from), status: landed.status, body: body.slice(0, 300) }
    },
  }
}

/** Every string and number at any depth of a value (member names excluded: names are shown). */
function leavesOf(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (typeof value === 'number') return [String(value)]
  if (Array.isArray(value)) return value.flatMap(leavesOf)
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leavesOf)
  return []
}

/** No value appears in the events (as JSON and as they would be URL-encoded) nor in the log. */
function assertNoValue(traced: Traced, values: readonly string[]): void {
  const output = [JSON.stringify(traced.events), ...traced.lines].join('\n')
  const decoded = output.replace(/(?:%[0-9A-F]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run
    }
  })
  for (const value of values) {
    assert.ok(
      !output.includes(value) && !decoded.includes(value),
      `a parameter value appears in the trace or the debug output: ${value.slice(0, 12)}…`,
    )
  }
}

/** The event types of a whole login. */
const LOGIN_EVENTS = [
  'login.started',
  'metadata',
  'authorization-redirect',
  'authorization-response',
  'token-response',
  'id-token',
  'login.completed',
]

const NOT_RANDOM = new Set([
  ...RESERVED_PARAMS,
  ...PUBLIC_NAMES,
  'claims',
  'authorization_details',
  'max_age',
])

/** A value nobody could find by chance in a trace: 14+ letters and digits, or 12 digits. */
const leaf = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9]{14,24}$/),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((n) => 100_000_000_000 + n * 37),
  fc.boolean(),
  fc.constant(null),
)
const { nested } = fc.letrec<{ nested: unknown }>((tie) => ({
  nested: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('nested'), { maxLength: 3 }),
    fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), tie('nested'), { maxKeys: 3 }),
  ),
}))
const parameters = fc.dictionary(
  fc.stringMatching(/^[a-z][a-z0-9_]{2,15}$/).filter((name) => !NOT_RANDOM.has(name)),
  fc.oneof(
    leaf.filter((value) => value !== null),
    fc.array(nested, { maxLength: 4 }),
    fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), nested, { maxKeys: 4 }),
  ),
  { minKeys: 1, maxKeys: 5 },
)

const PROFILES: ReadonlyArray<[string, Partial<FapiClientOptions>]> = [
  ['pushed request object', {}],
  [
    'request object by value in the URL',
    { profile: 'fapi1-advanced', pushedAuthorizationRequests: false },
  ],
  [
    'parameters in the URL (no request object)',
    {
      profile: 'oidc',
      pushedAuthorizationRequests: false,
      requestObject: false,
      responseMode: 'query',
    },
  ],
]

describe('trace and debug log redaction by allow-list', () => {
  for (const [name, client] of PROFILES) {
    test(`redaction allow-list: random parameter names and nested values never appear in an event or a log line (${name})`, async (t) => {
      const traced = await tracer(t, client)
      let runs = 0
      await fc.assert(
        fc.asyncProperty(parameters, async (params) => {
          runs += 1
          const result = await traced.run(params)
          assert.equal(result.status, 200, result.body)
          assert.deepEqual(
            LOGIN_EVENTS.filter((type) => !result.events.some((event) => event.type === type)),
            [],
            'every step was traced',
          )
          const started = result.events.find((event) => event.type === 'login.started')
          assert.deepEqual(
            started?.type === 'login.started' ? [...started.parameters].sort() : [],
            Object.keys(params).sort(),
            'the names are shown',
          )
          assertNoValue(
            result,
            leavesOf(params).filter((value) => value.length >= 12),
          )
        }),
        { numRuns: 12 },
      )
      assert.equal(runs >= 12, true)
    })
  }

  test('redaction allow-list: a login with every documented per-login parameter shows no value outside the allow-list (events and DEBUG output)', async (t) => {
    for (const [name, client] of PROFILES) {
      const traced = await tracer(t, client)
      const intent = `intent-${randomUUID()}`
      const consent = `consent-${randomUUID()}`
      const hint = `hidden.person.${randomUUID()}@example.test`
      const hintToken = `hint-token-${randomUUID()}`
      const idTokenHint = `eyJhbGciOiJQUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: hint })).toString('base64url')}.c2lnbmF0dXJlLW9mLWEtcHJldmlvdXMtaWQtdG9rZW4`
      const amount = '4321.98'
      const params = {
        id_token_hint: idTokenHint,
        login_hint_token: hintToken,
        login_hint: hint,
        claims: { id_token: { openbanking_intent_id: { value: intent, essential: true } } },
        authorization_details: [
          {
            type: 'payment_initiation',
            consentId: consent,
            instructedAmount: { currency: 'EUR', amount },
          },
        ],
        acr_values: 'urn:openbanking:psd2:sca',
        prompt: 'login',
      }
      traced.as.idToken = { claims: (claims) => ({ ...claims, openbanking_intent_id: intent }) }
      const result = await traced.run(params)
      assert.equal(result.status, 200, `${name}: ${result.body}`)
      assertNoValue(result, [idTokenHint, hintToken, hint, intent, consent, amount])
      // Not vacuous: the public values are shown, the others redacted.
      const events = JSON.stringify(result.events)
      assert.match(events, /payment_initiation/, name)
      assert.match(events, /urn(:|%3A)openbanking(:|%3A)psd2(:|%3A)sca/, name)
      assert.match(events, /\[redacted\]|%5Bredacted%5D/, name)
      assert.match(result.lines.join('\n'), /express-fapi:login/, name)
    }
  })
})

describe('onEvent: nothing is built for nobody', () => {
  test('onEvent absent: an event is never built (no redaction, no JWT decoded), and built once for a listener', () => {
    let built = 0
    const build = (): FapiEvent => {
      built += 1
      return { type: 'login.started', traceId: 't', at: 0 } as unknown as FapiEvent
    }
    emit({ config: {} } as unknown as ClientContext, build)
    assert.equal(built, 0)
    const seen: FapiEvent[] = []
    emit(
      { config: { onEvent: (event: FapiEvent) => seen.push(event) } } as unknown as ClientContext,
      build,
    )
    assert.equal(built, 1)
    assert.equal(seen.length, 1)
  })
})
