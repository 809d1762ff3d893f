/**
 * Without `errorHandler()` (and without an error handler of the app's own), a FapiError reaches
 * the framework's final handler, which shows a stack trace in development: express-fapi warns
 * once, with what to mount. With `errorHandler()`, or the app's own handler, it does not.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { test, type TestContext } from 'node:test'
import express, { type ErrorRequestHandler } from 'express'
import session from 'express-session'
import { errorHandler, fapiClient } from '../src/index.js'
import { generateJwks } from './support/keys.js'

async function app(
  t: TestContext,
  handler: 'none' | 'errorHandler' | 'own',
): Promise<(path: string) => Promise<Response>> {
  const keys = await generateJwks('ES256')
  const auth = fapiClient({
    // Never contacted: the callbacks below fail before anything is fetched.
    issuer: 'http://127.0.0.1:9/',
    clientId: 'portal',
    redirectUri: 'http://localhost:3000/auth/callback',
    keys: { signing: [keys.privateJwk] },
    allowInsecureLoopback: true,
  })
  const server = express()
  server.use(
    session({ secret: 'a test secret of some length', resave: false, saveUninitialized: false }),
  )
  server.use(auth.router())
  if (handler === 'errorHandler') server.use(errorHandler())
  if (handler === 'own') {
    const own: ErrorRequestHandler = (err, _req, res, next) => {
      if (res.headersSent) {
        next(err)
        return
      }
      res.status(400).send('handled by the app')
    }
    server.use(own)
  }
  const listening = server.listen(0, '127.0.0.1')
  await once(listening, 'listening')
  t.after(() => {
    listening.closeAllConnections()
    listening.close()
  })
  const { port } = listening.address() as AddressInfo
  return (path) =>
    fetch(`http://127.0.0.1:${String(port)}${path}`, { headers: { accept: 'text/html' } })
}

/** The lines express-fapi writes (the final handler logs the error's stack too). */
function warnings(t: TestContext): string[] {
  const lines: string[] = []
  t.mock.method(console, 'error', (line: unknown) => {
    if (String(line).startsWith('express-fapi:')) lines.push(String(line))
  })
  return lines
}

// These two run first: the warning is shown once per process.
for (const handler of ['errorHandler', 'own'] as const) {
  test(`with ${handler === 'own' ? "the app's own error handler" : 'errorHandler()'}: no warning`, async (t) => {
    const lines = warnings(t)
    const get = await app(t, handler)
    const answer = await get('/auth/callback')
    assert.equal(answer.status, 400)
    await answer.text()
    assert.deepEqual(lines, [])
  })
}

test('no error handler: one warning at the first FapiError, naming errorHandler()', async (t) => {
  const lines = warnings(t)
  const get = await app(t, 'none')
  for (let i = 0; i < 3; i += 1) {
    const answer = await get('/auth/callback')
    assert.equal(answer.status, 400)
    await answer.text()
  }
  assert.equal(lines.length, 1, lines.join('\n'))
  assert.match(lines[0] ?? '', /ERR_CALLBACK_MALFORMED reached the framework's final handler/)
  assert.match(lines[0] ?? '', /app\.use\(errorHandler\(\)\)/)
})
