/**
 * `npm start`: the example portal (a small aggregator) and two example banks' authorization
 * servers, on loopback, on two sites (the portal on `localhost`, the banks on `127.0.0.1`), as a
 * browser sees a real deployment.
 *
 * Environment: `PORTAL_PORT` (default 3000), `AS_PORT` (bank A, default 3001), `BANK_B_PORT`
 * (default 3002), `PORTAL_RESPONSE_MODE` (default `jwt`; the home page lets you pick another one
 * for each login), `MY_APP_URL` (default `http://localhost:4000`: where the banks' development
 * client `my-app`, an app of your own, runs).
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { GrantStore, ResponseMode } from '../src/index.js'
import { loadDirectory } from './authorization-server/directory.js'
import { createAuthorizationServer, type BankEvent } from './authorization-server/server.js'
import { DEV_CLIENT_ID, devClientRegistration } from './authorization-server/dev-client.js'
import {
  createPortal,
  portalRegistration,
  type BankName,
  type PortalOptions,
} from './portal/app.js'
import { loadPortalSecrets } from './portal/secrets.js'
import { lateHandler } from './shared/late-handler.js'
import { RESPONSE_MODES } from './portal/views.js'

export interface ExampleOptions {
  /** Default 3000; 0 picks a free port. */
  readonly portalPort?: number
  /** Bank A's port. Default 3001; 0 picks a free port. */
  readonly asPort?: number
  /** Bank B's port. Default 3002; 0 picks a free port. */
  readonly bankBPort?: number
  /**
   * Where each keeps its keys. Default `examples/portal/.data` and
   * `examples/authorization-server/.data` (the banks in its `bank-a` and `bank-b` folders).
   */
  readonly dataDirs?: { readonly portal: string; readonly authorizationServer: string }
  readonly defaultResponseMode?: ResponseMode
  readonly sessionCookieSameSite?: PortalOptions['sessionCookieSameSite']
  /** The portal's grant store. Default: its own in memory. */
  readonly grants?: GrantStore
  /** What happens at each bank (revocations, back-channel logouts, registrations). */
  readonly onBankEvent?: (bank: BankName, event: BankEvent) => void
  /** The origin of the banks' development client `my-app`. Default `http://localhost:4000`. */
  readonly myAppUrl?: string
}

export interface RunningExample {
  /** e.g. `http://localhost:3000` */
  readonly portalUrl: string
  /** Bank A's issuer, e.g. `http://127.0.0.1:3001` */
  readonly issuer: string
  /** Each bank's issuer. */
  readonly issuers: Readonly<Record<BankName, string>>
  /** The origin of the banks' development client `my-app`, e.g. `http://localhost:4000`. */
  readonly myAppUrl: string
  close(): Promise<void>
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const inUse = `port ${port} is in use: set PORTAL_PORT, AS_PORT and BANK_B_PORT to free ports`
      reject(new Error(error.code === 'EADDRINUSE' ? inUse : error.message, { cause: error }))
    }
    server.once('error', onError)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError)
      resolve()
    })
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

/** Starts the three servers; resolves once all listen. */
export async function startExample(options: ExampleOptions = {}): Promise<RunningExample> {
  const here = fileURLToPath(new URL('.', import.meta.url))
  const dataDirs = options.dataDirs ?? {
    portal: `${here}portal/.data`,
    authorizationServer: `${here}authorization-server/.data`,
  }
  const bankAServer = createServer()
  const bankBServer = createServer()
  const portalServer = createServer()
  const servers = [portalServer, bankAServer, bankBServer]
  const closeAll = () => Promise.all(servers.map(close)).then(() => undefined)
  const devClient = devClientRegistration(options.myAppUrl)
  try {
    // All listen first: each needs the others' URLs, which have the port in them.
    const issuers = {
      'bank-a': `http://127.0.0.1:${await listen(bankAServer, options.asPort ?? 3001)}`,
      'bank-b': `http://127.0.0.1:${await listen(bankBServer, options.bankBPort ?? 3002)}`,
    }
    const portalUrl = `http://localhost:${await listen(portalServer, options.portalPort ?? 3000)}`

    // Both banks trust one development directory: an app with its software statement registers
    // itself (npm run example:ssa prints one).
    const directory = await loadDirectory(join(dataDirs.authorizationServer, 'directory'))
    const observed = (bank: BankName) =>
      options.onBankEvent === undefined
        ? {}
        : { onEvent: (event: BankEvent) => options.onBankEvent?.(bank, event) }

    // Bank A: FAPI 2.0 Message Signing with payment consents (client credentials, RAR and the
    // consent API). Bank B: FAPI 2.0 Message Signing too, with its own keys and registration.
    lateHandler(bankAServer)(
      await createAuthorizationServer({
        name: 'Example Bank A',
        issuer: issuers['bank-a'],
        cookiePrefix: 'bank_a',
        paymentConsents: true,
        dataDir: join(dataDirs.authorizationServer, 'bank-a'),
        client: portalRegistration(portalUrl),
        directory,
        ...observed('bank-a'),
        devClient,
      }),
    )
    lateHandler(bankBServer)(
      await createAuthorizationServer({
        name: 'Example Bank B',
        issuer: issuers['bank-b'],
        cookiePrefix: 'bank_b',
        dataDir: join(dataDirs.authorizationServer, 'bank-b'),
        client: portalRegistration(portalUrl),
        directory,
        ...observed('bank-b'),
        devClient,
      }),
    )
    lateHandler(portalServer)(
      createPortal({
        origin: portalUrl,
        issuers,
        secrets: await loadPortalSecrets(dataDirs.portal),
        defaultResponseMode: options.defaultResponseMode ?? 'jwt',
        ...(options.grants === undefined ? {} : { grants: options.grants }),
        ...(options.sessionCookieSameSite === undefined
          ? {}
          : { sessionCookieSameSite: options.sessionCookieSameSite }),
      }),
    )
    const myAppUrl = new URL(devClient.jwksUri).origin
    return { portalUrl, issuer: issuers['bank-a'], issuers, myAppUrl, close: closeAll }
  } catch (error) {
    await closeAll()
    throw error
  }
}

function port(name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new Error(`${name} must be a port number, got "${value}"`)
  }
  return parsed
}

function responseMode(): ResponseMode {
  const value = process.env.PORTAL_RESPONSE_MODE
  if (value === undefined || value === '') return 'jwt'
  const found = RESPONSE_MODES.find(({ mode }) => mode === value)
  if (found === undefined) {
    const modes = RESPONSE_MODES.map(({ mode }) => mode).join(', ')
    throw new Error(`PORTAL_RESPONSE_MODE must be one of ${modes}, got "${value}"`)
  }
  return found.mode
}

async function main(): Promise<void> {
  const example = await startExample({
    portalPort: port('PORTAL_PORT', 3000),
    asPort: port('AS_PORT', 3001),
    bankBPort: port('BANK_B_PORT', 3002),
    defaultResponseMode: responseMode(),
    ...(process.env.MY_APP_URL ? { myAppUrl: process.env.MY_APP_URL } : {}),
  })
  console.log(`
  express-fapi example

  Portal:          ${example.portalUrl}   <- open this in your browser
  Example Bank A:  ${example.issuers['bank-a']}   (oidc-provider, FAPI 2.0 Message Signing, payment consents)
  Example Bank B:  ${example.issuers['bank-b']}   (oidc-provider, FAPI 2.0 Message Signing)
  Demo accounts:   alice or bob, password "demo"
  Your own app:    client "${DEV_CLIENT_ID}" at ${example.myAppUrl} (docs/guides/your-own-app.md),
                   or register it at /reg with a software statement of the example directory:
                   npm run example:ssa -- --redirect-uri <your callback>
                   (see examples/README.md, "Your own app at the example banks")

  Development only: http on loopback, the banks keep sessions in memory.
  Press Ctrl-C to stop all three.
`)
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    // npm forwards the terminal's Ctrl-C too, so the same signal may come twice.
    if (stopping) return
    stopping = true
    console.log(`\n  ${signal}: stopping…`)
    setTimeout(() => process.exit(1), 5000).unref()
    example.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(
      `  express-fapi example: ${error instanceof Error ? error.message : String(error)}`,
    )
    process.exit(1)
  })
}
