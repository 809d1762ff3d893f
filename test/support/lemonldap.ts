/**
 * LemonLDAP::NG (Debian's `lemonldap-ng`), an independently written OpenID Connect provider that
 * authenticates clients with secrets only, on 127.0.0.1 for the interop suite: its portal (a PSGI
 * application) served by Plack's own `plackup` (Debian's `libplack-perl`, a dependency of the
 * package), no web server; a temporary configuration (the package's demo configuration with the
 * OIDC issuer on, its `Demo` user base, storage in a temporary directory, a fresh RSA signing key)
 * and relying parties given at start. It is stopped by its own process id whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './redis.js'
import { executable, systemDependency } from './system.js'
import { decodeHtmlEntities, UserAgent, type CallbackDelivery } from './user-agent.js'

const PLACKUP = '/usr/bin/plackup'
const PORTAL = '/usr/share/lemonldap-ng/portal/htdocs/index.psgi'
/** The package's demonstration configuration, the base of ours. */
const DEMO_CONFIGURATION = '/var/lib/lemonldap-ng/conf/lmConf-1.json'
const START_TIMEOUT = 30_000
const STOP_TIMEOUT = 5_000
/** A user of the `Demo` authentication module (login = password). */
export const LEMONLDAP_USER = 'dwho'

/** Why the LemonLDAP::NG interop suite cannot run here (skip, or a failure under CI), or false. */
export const lemonldapMissing: string | false = systemDependency(
  'lemonldap-ng',
  executable(PLACKUP) && existsSync(PORTAL) && existsSync(DEMO_CONFIGURATION),
  'the LemonLDAP::NG interop suite',
)

/** A relying party registered at the portal. */
export interface LemonldapClient {
  readonly clientId: string
  readonly clientSecret: string
  readonly redirectUri: string
}

export interface StartedLemonldap {
  /** `http://127.0.0.1:<port>`, also the OIDC issuer. */
  readonly issuer: string
  /** Signs `LEMONLDAP_USER` in at the portal, following its redirects to the client's callback. */
  authorize(authorizationUrl: string, redirectUri: string): Promise<CallbackDelivery>
  /** The last lines the portal logged, for failure messages. */
  log(): string
  close(): Promise<void>
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

function storage(dir: string): Record<string, unknown> {
  return {
    globalStorageOptions: {
      Directory: join(dir, 'sessions'),
      LockDirectory: join(dir, 'sessions', 'lock'),
      generateModule: 'Lemonldap::NG::Common::Apache::Session::Generate::SHA256',
    },
    persistentStorageOptions: {
      Directory: join(dir, 'psessions'),
      LockDirectory: join(dir, 'psessions', 'lock'),
    },
    localSessionStorageOptions: {
      namespace: 'lemonldap-ng-sessions',
      default_expires_in: 600,
      directory_umask: '007',
      cache_root: join(dir, 'cache'),
      cache_depth: 3,
    },
    notification: 0,
  }
}

/** The portal's configuration: the demo one, with the OIDC issuer and `clients`. */
async function configuration(
  dir: string,
  issuer: string,
  clients: readonly LemonldapClient[],
): Promise<Record<string, unknown>> {
  const demo = JSON.parse(await readFile(DEMO_CONFIGURATION, 'utf8')) as Record<string, unknown>
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    ...demo,
    ...storage(dir),
    cfgNum: 1,
    portal: `${issuer}/`,
    domain: '127.0.0.1',
    securedCookie: 0,
    issuerDBOpenIDConnectActivation: 1,
    oidcServiceMetaDataIssuer: issuer,
    oidcServicePrivateKeySig: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    oidcServicePublicKeySig: publicKey.export({ type: 'spki', format: 'pem' }),
    oidcServiceKeyIdSig: 'lemonldap-sig',
    oidcRPMetaDataOptions: Object.fromEntries(
      clients.map((client) => [
        client.clientId,
        {
          oidcRPMetaDataOptionsClientID: client.clientId,
          oidcRPMetaDataOptionsClientSecret: client.clientSecret,
          oidcRPMetaDataOptionsRedirectUris: client.redirectUri,
          oidcRPMetaDataOptionsIDTokenSignAlg: 'RS256',
          oidcRPMetaDataOptionsRequirePKCE: 1,
          oidcRPMetaDataOptionsBypassConsent: 1,
        },
      ]),
    ),
    oidcRPMetaDataExportedVars: Object.fromEntries(
      clients.map((client) => [client.clientId, { name: 'cn', email: 'mail' }]),
    ),
  }
}

function ini(dir: string): string {
  return [
    '[all]',
    'logLevel = warn',
    'checkTime = 1',
    '[configuration]',
    'type = File',
    `dirName = ${join(dir, 'conf')}`,
    'localStorage = Cache::FileCache',
    `localStorageOptions = {'namespace' => 'lemonldap-ng-config', 'default_expires_in' => 600, 'cache_root' => '${join(dir, 'cache')}', 'cache_depth' => 3}`,
    '[portal]',
    'staticPrefix = /static',
    'templateDir = /usr/share/lemonldap-ng/portal/templates',
    'languages = en',
    '',
  ].join('\n')
}

/** The hidden and named inputs of the portal's login form. */
function formFields(html: string): URLSearchParams {
  const fields = new URLSearchParams()
  for (const input of html.matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[0])?.[1]
    const value = /\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? ''
    if (name !== undefined && /type="hidden"/i.test(input[0])) {
      fields.set(name, decodeHtmlEntities(value))
    }
  }
  return fields
}

/**
 * Starts the portal on a free loopback port with `clients` registered, and resolves once its
 * discovery document answers.
 */
export async function startLemonldap(
  clients: readonly LemonldapClient[],
): Promise<StartedLemonldap> {
  const dir = await mkdtemp(join(tmpdir(), 'lemonldap-'))
  let child: ChildProcess | undefined
  const lines: string[] = []
  try {
    for (const sub of ['conf', 'sessions/lock', 'psessions/lock', 'cache']) {
      await mkdir(join(dir, sub), { recursive: true })
    }
    const port = await freePort()
    const issuer = `http://127.0.0.1:${port}`
    await writeFile(
      join(dir, 'conf', 'lmConf-1.json'),
      JSON.stringify(await configuration(dir, issuer, clients)),
      { mode: 0o600 },
    )
    await writeFile(join(dir, 'lemonldap-ng.ini'), ini(dir))
    child = spawn(
      PLACKUP,
      ['-s', 'HTTP::Server::PSGI', '--host', '127.0.0.1', '--port', String(port), PORTAL],
      {
        env: { ...process.env, LLNG_DEFAULTCONFFILE: join(dir, 'lemonldap-ng.ini') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const keep = (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n'))
      if (lines.length > 400) lines.splice(0, lines.length - 400)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    const log = () => lines.slice(-60).join('\n')
    const deadline = Date.now() + START_TIMEOUT
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the portal exited early:\n${log()}`)
      const answer = await fetch(`${issuer}/.well-known/openid-configuration`).catch(
        () => undefined,
      )
      if (answer?.status === 200) break
      if (Date.now() > deadline) throw new Error(`the portal did not start in time:\n${log()}`)
      await sleep(200)
    }
    const started = child
    return {
      issuer,
      log,
      async authorize(authorizationUrl, redirectUri) {
        const agent = new UserAgent()
        let answer = await agent.fetch(authorizationUrl)
        // The login form: the portal's hidden fields (the original URL, its CSRF token) + the user.
        const form = formFields(await answer.text())
        form.set('user', LEMONLDAP_USER)
        form.set('password', LEMONLDAP_USER)
        answer = await agent.fetch(`${issuer}/`, { method: 'POST', body: form })
        for (let hops = 0; hops < 10; hops += 1) {
          const location = answer.headers.get('location')
          if (location === null) break
          const next = new URL(location, issuer)
          if (next.href.startsWith(redirectUri)) return { method: 'GET', url: next.href }
          answer = await agent.fetch(next.href)
        }
        throw new Error(
          `the portal did not redirect to the client: HTTP ${answer.status} ${(await answer.text()).slice(0, 300)}\n${log()}`,
        )
      },
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
