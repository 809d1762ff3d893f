/**
 * One app in its own process, under Node's default unhandled-rejection mode (`throw`), whose
 * `onEvent` listener is async and always rejects (an audit service that is down). Configured by
 * environment (`ISSUER`, `CLIENT_JWK`); tells its parent its origin, and answers `ping` with
 * `pong` (a turn of its event loop: an unhandled rejection would have ended it by then).
 */
import { startApp } from './app.js'

function env(name: string): string {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const app = await startApp({
  client: ({ redirectUri }) => ({
    issuer: env('ISSUER'),
    clientId: 'portal',
    redirectUri,
    keys: { signing: [JSON.parse(env('CLIENT_JWK')) as { kid: string }] },
    allowInsecureLoopback: true,
    senderConstraint: 'none',
    onEvent: async (event) => {
      await Promise.resolve()
      throw new Error(`audit service down (event ${event.type})`)
    },
  }),
})
process.send?.({ origin: app.origin })
process.on('message', (message) => {
  if (message === 'ping') process.send?.('pong')
  if (message === 'stop') {
    void app
      .close()
      .catch(() => undefined)
      .then(() => process.exit(0))
  }
})
