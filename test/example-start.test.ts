/**
 * `npm start` listens before its handlers exist (each server needs the other's URL): a request in
 * that window must wait and be answered, not accepted and left hanging.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { lateHandler } from '../examples/shared/late-handler.js'

test(
  'a request that arrives before the handler is attached is answered once it is',
  { timeout: 10_000 },
  async (t) => {
    const server = createServer()
    const attach = lateHandler(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => {
      server.closeAllConnections()
      server.close()
    })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/early`
    let settled = false
    const early = fetch(url).then(async (response) => {
      settled = true
      return response.text()
    })
    // The request reaches the server and waits there (a bounded wait for its connection).
    for (let tries = 0; tries < 400; tries += 1) {
      const connections = await new Promise<number>((resolve, reject) => {
        server.getConnections((error, count) => (error ? reject(error) : resolve(count)))
      })
      if (connections > 0) break
      await delay(5)
    }
    await delay(50)
    assert.equal(settled, false)
    attach((req, res) => res.end(`handled ${req.url ?? ''}`))
    assert.equal(await early, 'handled /early')
    assert.equal(await (await fetch(url)).text(), 'handled /early')
  },
)
