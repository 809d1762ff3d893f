/**
 * The `onEvent` trace: a listener can never break a login or the process (sync or async, throwing
 * or rejecting), and every event and debug line shows a value only if its name is on the
 * allow-list of public parameters.
 */
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import createDebug from 'debug'
import { clientKey, CLIENT_ID } from './support/hostile-fixture.js'
import { startHostileServer } from './support/hostile-server.js'

const lines: string[] = []
const originalLog = createDebug.log
let enabled = ''

before(() => {
  enabled = createDebug.disable()
  createDebug.log = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '))
  }
  createDebug.enable('express-fapi:*')
})

after(() => {
  createDebug.log = originalLog
  createDebug.disable()
  if (enabled !== '') createDebug.enable(enabled)
})

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
