/**
 * The real authorization server in a process of its own, for scripts that measure the app's
 * process alone (load, memory). The parent sends the client's redirect URI and public key; this
 * process answers with its issuer, then with token-request counts on request.
 */
import { once } from 'node:events'
import type { JWK } from 'jose'
import { startProvider } from '../test/support/provider.js'

const [client] = (await once(process, 'message')) as [{ redirectUri: string; publicJwk: JWK }]
const as = await startProvider({
  fapiProfile: '2.0',
  clients: [
    {
      clientId: 'portal',
      redirectUri: client.redirectUri,
      jwks: { keys: [client.publicJwk] },
      profile: 'fapi2-message-signing',
      signingAlg: 'ES256',
    },
  ],
})
process.send?.({ issuer: as.issuer })
process.on('message', (message) => {
  if (message === 'tokens') process.send?.({ tokens: as.requests('/token') })
  if (message === 'stop') void as.close().then(() => process.exit(0))
})
