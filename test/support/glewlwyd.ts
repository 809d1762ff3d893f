/**
 * Glewlwyd (Debian's package), an independently written OpenID Connect server, on 127.0.0.1 for
 * the interop suite: a temporary SQLite database from the package's own init script, a temporary
 * configuration file, a free port, and its admin REST API to set up the OIDC plugin, a user and
 * clients. It is stopped by its own process id whatever happens.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { JWK } from 'jose'
import { freePort } from './redis.js'
import { executable, systemDependency } from './system.js'
import { UserAgent } from './user-agent.js'

export const GLEWLWYD = '/usr/bin/glewlwyd'
const SQLITE3 = '/usr/bin/sqlite3'
const MODULES = '/usr/lib/glewlwyd'
/** The administrator the package's init script creates. */
const ADMIN = { username: 'admin', password: 'password' }
/** Bounded waits. */
const START_TIMEOUT = 15_000
const STOP_TIMEOUT = 5_000

/** The package's SQLite init script, found through dpkg (it is not on a documented path). */
function initScript(): string | undefined {
  const files = spawnSync('dpkg', ['-L', 'glewlwyd'], { encoding: 'utf8' })
  if (files.status !== 0) return undefined
  return files.stdout.split('\n').find((path) => /\/install\/sqlite3$/.test(path))
}

/** Why the interop suite cannot run here (skip, or a failure under CI), or false. */
export const glewlwydMissing: string | false =
  systemDependency(
    'glewlwyd',
    executable(GLEWLWYD) && initScript() !== undefined,
    'the Glewlwyd interop suite',
  ) || systemDependency('sqlite3', executable(SQLITE3), 'the Glewlwyd interop suite')

export interface StartedGlewlwyd {
  /** `http(s)://127.0.0.1:<port>` */
  readonly origin: string
  /** The issuer of the OIDC plugin instance `name`. */
  issuer(name: string): string
  /** A call to the admin REST API as the administrator; throws unless 2xx. */
  admin(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown>
  /** The `fetch` that talks to it (one trusting the test CA under https), if not the global one. */
  readonly fetch?: typeof fetch
  /** The last lines Glewlwyd logged, for failure messages. */
  log(): string
  close(): Promise<void>
}

export interface GlewlwydTls {
  readonly cert: string
  readonly key: string
  /** The CA that client certificates must chain to. */
  readonly clientCa: string
}

function config(port: number, origin: string, database: string, tls: Paths | undefined): string {
  return [
    `port=${port}`,
    'bind_address="127.0.0.1"',
    `external_url="${origin}"`,
    'login_url="login.html"',
    'api_prefix="api"',
    'allow_origin="*"',
    'log_mode="console"',
    'log_level="DEBUG"',
    'cookie_secure=0',
    'cookie_same_site="empty"',
    'session_expiration=3600',
    'session_key="GLEWLWYD2_SESSION_ID"',
    'admin_session_authentication="cookie"',
    'profile_session_authentication="cookie"',
    'allow_multiple_user_per_session=true',
    'login_api_enabled=true',
    'add_x_frame_option_header_deny=true',
    'max_post_size=16778240',
    'admin_scope="g_admin"',
    'profile_scope="g_profile"',
    `user_module_path="${MODULES}/user"`,
    `client_module_path="${MODULES}/client"`,
    `user_auth_scheme_module_path="${MODULES}/scheme"`,
    `plugin_module_path="${MODULES}/plugin"`,
    `use_secure_connection=${tls === undefined ? 'false' : 'true'}`,
    // Glewlwyd reads these even when secure connections are off.
    `secure_connection_key_file="${tls?.key ?? '/dev/null'}"`,
    `secure_connection_pem_file="${tls?.cert ?? '/dev/null'}"`,
    `secure_connection_ca_file="${tls?.ca ?? '/dev/null'}"`,
    'hash_algorithm = "SHA512"',
    'database =',
    '{',
    '  type = "sqlite3"',
    `  path = "${database}"`,
    '};',
    '',
  ].join('\n')
}

interface Paths {
  readonly cert: string
  readonly key: string
  readonly ca: string
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = sleep(STOP_TIMEOUT).then(() => 'timeout' as const)
  if ((await Promise.race([exited, timer])) === 'timeout') {
    child.kill('SIGKILL')
    await exited
  }
}

/**
 * Starts Glewlwyd on a free loopback port with a fresh database, logs in as the administrator,
 * and resolves once its API answers. `fetch` talks to it (e.g. trusting a test CA under https).
 */
export async function startGlewlwyd(
  options: { tls?: GlewlwydTls; fetch?: typeof fetch } = {},
): Promise<StartedGlewlwyd> {
  const script = initScript()
  if (script === undefined) throw new Error('the glewlwyd package has no SQLite init script')
  const dir = await mkdtemp(join(tmpdir(), 'glewlwyd-'))
  let child: ChildProcess | undefined
  const lines: string[] = []
  try {
    const database = join(dir, 'glewlwyd.db')
    const init = spawnSync(SQLITE3, [database], {
      input: await readFile(script, 'utf8'),
      encoding: 'utf8',
    })
    if (init.status !== 0) throw new Error(`sqlite3 failed: ${init.stderr}`)
    let paths: Paths | undefined
    if (options.tls) {
      paths = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'ca.pem') }
      await writeFile(paths.cert, options.tls.cert)
      await writeFile(paths.key, options.tls.key, { mode: 0o600 })
      await writeFile(paths.ca, options.tls.clientCa)
    }
    const port = await freePort()
    const origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`
    const file = join(dir, 'glewlwyd.conf')
    await writeFile(file, config(port, origin, database, paths))
    child = spawn(GLEWLWYD, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    const keep = (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n'))
      if (lines.length > 400) lines.splice(0, lines.length - 400)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    const log = () => lines.slice(-60).join('\n')

    const agent = new UserAgent(options.fetch ? { fetch: options.fetch } : {})
    const deadline = Date.now() + START_TIMEOUT
    for (;;) {
      if (child.exitCode !== null) throw new Error(`glewlwyd exited early:\n${log()}`)
      const answer = await agent
        .fetch(`${origin}/api/auth/`, { method: 'POST', json: ADMIN })
        .catch(() => undefined)
      if (answer?.status === 200) break
      if (Date.now() > deadline) throw new Error(`glewlwyd did not start in time:\n${log()}`)
      await sleep(100)
    }
    const started = child
    return {
      origin,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      issuer: (name) => `${origin}/api/${name}`,
      async admin(method, path, body) {
        const answer = await agent.fetch(`${origin}/api${path}`, {
          method,
          ...(body === undefined ? {} : { json: body }),
        })
        const text = await answer.text()
        if (answer.status < 200 || answer.status >= 300) {
          throw new Error(`glewlwyd ${method} ${path}: HTTP ${answer.status} ${text.slice(0, 500)}`)
        }
        return text === '' ? undefined : (JSON.parse(text) as unknown)
      },
      log,
      async close() {
        await stop(started)
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    if (child) await stop(child)
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/** The server's signing keys, private JWKs with `alg`, for the plugin's `jwks-private`. */
export type ServerJwks = { keys: JWK[] }
