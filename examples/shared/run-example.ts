/**
 * What runs a feature example (`npm run example examples/<file>`), and no part of what you copy
 * into an app: it starts the two example banks of `npm start` (`authorization-server/`, a real
 * oidc-provider) in this process on free ports of 127.0.0.1, each registering the app as client
 * `example` (its redirect URI, `/` after logout, and its `jwks_uri`), then the example's app on
 * `http://localhost:$PORT` (default 3000), and prints where it is. Each run makes new keys in a
 * temporary folder; the banks forget everything when it stops (Ctrl-C).
 *
 * An app of your own gets all of this from its bank instead: the issuer, a client id for the key
 * it registered, and its redirect URI.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { createAuthorizationServer } from '../authorization-server/server.js'
import { lateHandler } from './late-handler.js'

/** What an example's app needs to know: in a real app, its configuration. */
export interface ExampleSetup {
  /** Where the app is reached, e.g. `http://localhost:3000`. */
  readonly origin: string
  /** Each example bank's issuer; bank A also offers payment consents. */
  readonly issuers: { readonly 'bank-a': string; readonly 'bank-b': string }
  /** The client id the banks know the app by. */
  readonly clientId: string
  /** A private ES256 JWK made for this run; the banks fetch its public half from the app. */
  readonly signingKey: JWK & { readonly kid: string }
  /** The session cookie's secret. */
  readonly sessionSecret: string
}

export interface RunningExample extends ExampleSetup {
  close(): Promise<void>
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const inUse = `port ${port} is in use (npm start?): set PORT to a free port`
      reject(error.code === 'EADDRINUSE' ? new Error(inUse) : error)
    })
    server.listen(port, '127.0.0.1', resolve)
  })
  return (server.address() as AddressInfo).port
}

async function close(server: Server): Promise<void> {
  if (!server.listening) return
  const closed = once(server, 'close')
  server.close()
  server.closeAllConnections()
  await closed
}

/** Starts the banks and the app that `build` makes; stops all on SIGINT or SIGTERM. */
export async function runExample(
  name: string,
  build: (setup: ExampleSetup) => RequestListener | Promise<RequestListener>,
  options: { readonly callbackPath?: string } = {},
): Promise<RunningExample> {
  const port = Number(process.env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT must be a port number, got "${String(process.env.PORT)}"`)
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'express-fapi-example-'))
  const [appServer, bankA, bankB] = [createServer(), createServer(), createServer()]
  const servers = [appServer, bankA, bankB]
  const closeAll = async () => {
    await Promise.all(servers.map(close))
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const origin = `http://localhost:${await listen(appServer, port)}`
    const issuers = {
      'bank-a': `http://127.0.0.1:${await listen(bankA, 0)}`,
      'bank-b': `http://127.0.0.1:${await listen(bankB, 0)}`,
    }
    const client = {
      clientId: 'example',
      redirectUris: [`${origin}${options.callbackPath ?? '/auth/callback'}`],
      postLogoutRedirectUris: [`${origin}/`],
      jwksUri: `${origin}/.well-known/jwks.json`,
    }
    for (const [bank, server, payments] of [
      ['bank-a', bankA, true],
      ['bank-b', bankB, false],
    ] as const) {
      lateHandler(server)(
        await createAuthorizationServer({
          name: bank === 'bank-a' ? 'Example Bank A' : 'Example Bank B',
          issuer: issuers[bank],
          cookiePrefix: bank.replace('-', '_'),
          paymentConsents: payments,
          refreshTokens: true,
          dataDir: join(dataDir, bank),
          client,
        }),
      )
    }
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const signingKey = { ...(await exportJWK(privateKey)), kid: 'example-1', alg: 'ES256' }
    const setup = {
      origin,
      issuers,
      clientId: client.clientId,
      signingKey,
      sessionSecret: randomBytes(32).toString('base64url'),
    }
    lateHandler(appServer)(await build(setup))
    console.log(`${name}: ${origin}   (sign in as alice or bob, password "demo")`)
    console.log(`  Example Bank A: ${issuers['bank-a']}, Example Bank B: ${issuers['bank-b']}`)
    const stop = () => {
      closeAll().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    return { ...setup, close: closeAll }
  } catch (error) {
    await closeAll()
    throw error
  }
}
