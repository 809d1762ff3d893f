/**
 * `npm start`: the example authorization server and the example portal, on loopback, on two sites
 * (the portal on `localhost`, the server on `127.0.0.1`), as a browser sees a real deployment.
 *
 * Environment: `PORTAL_PORT` (default 3000), `AS_PORT` (default 3001), `PORTAL_RESPONSE_MODE`
 * (default `query.jwt`; the home page lets you pick another one for each login).
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { ResponseMode } from '../src/index.js'
import { createAuthorizationServer } from './authorization-server/server.js'
import { createPortal, portalRegistration, type PortalOptions } from './portal/app.js'
import { loadPortalSecrets } from './portal/secrets.js'
import { lateHandler } from './shared/late-handler.js'
import { RESPONSE_MODES } from './portal/views.js'

export interface ExampleOptions {
  /** Default 3000; 0 picks a free port. */
  readonly portalPort?: number
  /** Default 3001; 0 picks a free port. */
  readonly asPort?: number
  /** Where each keeps its keys. Default `examples/portal/.data` and `examples/authorization-server/.data`. */
  readonly dataDirs?: { readonly portal: string; readonly authorizationServer: string }
  readonly defaultResponseMode?: ResponseMode
  readonly sessionCookieSameSite?: PortalOptions['sessionCookieSameSite']
}

export interface RunningExample {
  /** e.g. `http://localhost:3000` */
  readonly portalUrl: string
  /** e.g. `http://127.0.0.1:3001` */
  readonly issuer: string
  close(): Promise<void>
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const inUse = `port ${port} is in use: set PORTAL_PORT and AS_PORT to free ports`
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

/** Starts both servers; resolves once both listen. */
export async function startExample(options: ExampleOptions = {}): Promise<RunningExample> {
  const here = fileURLToPath(new URL('.', import.meta.url))
  const dataDirs = options.dataDirs ?? {
    portal: `${here}portal/.data`,
    authorizationServer: `${here}authorization-server/.data`,
  }
  const asServer = createServer()
  const portalServer = createServer()
  const attachAs = lateHandler(asServer)
  const attachPortal = lateHandler(portalServer)
  try {
    // Both listen first: each needs the other's URL, which has the port in it.
    const issuer = `http://127.0.0.1:${await listen(asServer, options.asPort ?? 3001)}`
    const portalUrl = `http://localhost:${await listen(portalServer, options.portalPort ?? 3000)}`

    attachAs(
      await createAuthorizationServer({
        issuer,
        dataDir: dataDirs.authorizationServer,
        client: portalRegistration(portalUrl),
      }),
    )
    attachPortal(
      createPortal({
        origin: portalUrl,
        issuer,
        secrets: await loadPortalSecrets(dataDirs.portal),
        defaultResponseMode: options.defaultResponseMode ?? 'jwt',
        ...(options.sessionCookieSameSite === undefined
          ? {}
          : { sessionCookieSameSite: options.sessionCookieSameSite }),
      }),
    )
    return {
      portalUrl,
      issuer,
      async close() {
        await Promise.all([close(portalServer), close(asServer)])
      },
    }
  } catch (error) {
    await Promise.all([close(portalServer), close(asServer)])
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
    defaultResponseMode: responseMode(),
  })
  console.log(`
  express-fapi example

  Portal:                ${example.portalUrl}   <- open this in your browser
  Authorization server:  ${example.issuer}   (oidc-provider, FAPI 2.0 Message Signing)
  Demo accounts:         alice or bob, password "demo"

  Development only: http on loopback, the server keeps sessions in memory.
  Press Ctrl-C to stop both.
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
