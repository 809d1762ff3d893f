/**
 * One real oidc-provider (FAPI 2.0) and one real Express app with express-fapi, for a test, plus
 * the steps of a login up to the moment the browser delivers the response to the callback.
 */
import type { TestContext } from 'node:test'
import type { Store } from 'express-session'
import type { FapiClientOptions } from '../../src/index.js'
import { AppBrowser, startApp, type StartedApp, type ExpressVersion } from './app.js'
import { generateJwks } from './keys.js'
import { startProvider, type StartedProvider } from './provider.js'
import { UserAgent, type CallbackDelivery } from './user-agent.js'

export interface RealLogin {
  readonly app: StartedApp
  readonly as: StartedProvider
  /** The app's browser (its cookie jar holds the app's session). */
  readonly browser: AppBrowser
  /** The same browser at the authorization server. */
  readonly agent: UserAgent
  /** Starts a login at the app and signs in at the server; returns the delivery, not sent. */
  authorize(options?: { deny?: boolean }): Promise<CallbackDelivery>
}

/** Starts a server and an app for one test; both are closed after it. */
export async function startRealLogin(
  t: TestContext,
  client: Partial<FapiClientOptions>,
  options: { store?: Store; express?: ExpressVersion } = {},
): Promise<RealLogin> {
  const keys = await generateJwks('ES256')
  let as: StartedProvider | undefined
  const app = await startApp({
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.express === undefined ? {} : { express: options.express }),
    client: async ({ redirectUri }) => {
      as = await startProvider({
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
      return {
        issuer: as.issuer,
        clientId: 'portal',
        redirectUri,
        keys: { signing: [keys.privateJwk] },
        scope: 'openid profile',
        allowInsecureLoopback: true,
        ...client,
      }
    },
  })
  const server = as as StartedProvider
  t.after(async () => {
    await app.close()
    await server.close()
  })
  const browser = new AppBrowser(app.origin)
  const agent = new UserAgent()
  return {
    app,
    as: server,
    browser,
    agent,
    async authorize(options = {}) {
      return agent.authorize(await browser.startLogin(), {
        redirectUri: app.redirectUri,
        ...(options.deny === true ? { deny: true } : {}),
      })
    },
  }
}
