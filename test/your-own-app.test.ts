/**
 * docs/guides/your-own-app.md, followed as written: the package packed with `npm pack`, installed
 * from that tarball into a fresh app folder, a key made with the packed `express-fapi keys`
 * command (the guide's command line), the guide's `app.js` (its code block, extracted here, so a
 * guide that drifts breaks this test) run as a child process of its own, and a scripted login at
 * the example banks of `npm start`, started in-process on free loopback ports with their
 * development client `my-app` at the app's port: the app's protected page shows the user's claims,
 * and logging out comes back to the app.
 *
 * What it does not prove: the registry. The tarball is installed by npm, offline; the packages
 * npm would fetch from the registry for it (express, express-session, and express-fapi's own
 * dependencies jose and debug) come from this repository's node_modules instead: a symlink in the
 * temporary folder's parent makes Node find express and express-session, and `file:` links to
 * jose and debug let npm resolve the tarball's dependencies without asking the registry. The
 * package's files, its exports map, its bin and its build are the tarball's.
 *
 * Needs `npm run build` first (npm test's build step does it); `npm pack --ignore-scripts` packs
 * that build instead of rebuilding it under other suites that read dist/.
 */
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test, type TestContext } from 'node:test'
import { startExample } from '../examples/start.js'
import { freePort } from './support/redis.js'
import { UserAgent } from './support/user-agent.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const GUIDE = 'docs/guides/your-own-app.md'
const guide = readFileSync(join(root, GUIDE), 'utf8')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
}

/** The guide's app: its TypeScript block that starts the server. */
function guideApp(): string {
  const blocks = [...guide.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((match) => match[1] ?? '')
  const apps = blocks.filter((block) => block.includes('app.listen('))
  assert.equal(apps.length, 1, `${GUIDE} has one code block with app.listen()`)
  return apps[0]!
}

/** The arguments of the guide's `npx express-fapi …` command line. */
function guideKeysCommand(): string[] {
  const line = /^npx express-fapi (keys[^\n]*)$/m.exec(guide)?.[1]
  assert.ok(line !== undefined, `${GUIDE} has an npx express-fapi keys command line`)
  return line.trim().split(/\s+/)
}

/** What a child process may see: no test runner, npm or tsx variables of this process. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...extra }
}

/** Runs `command args` in `cwd` to its end (bounded); resolves with stdout, rejects with stderr. */
function exec(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      { cwd, env: childEnv(), timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) resolve(stdout)
        else reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`))
      },
    )
  })
}

/** Starts `node app.js` in `cwd`; resolves once it prints its address. Stopped after the test. */
async function startApp(
  t: TestContext,
  cwd: string,
  env: Record<string, string>,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['app.js'], {
    cwd,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await once(child, 'exit')
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`app.js did not start in 30 s: ${stderr}`)),
      30_000,
    )
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
      if (stdout.includes('My app: ')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`app.js exited with ${String(code)}: ${stderr}`))
    })
  })
  return child
}

/**
 * From the app's home page to its account page, as a person does: "Log in", the bank's sign-in
 * page (alice, password demo), its consent page when it asks, back to the app's callback.
 */
async function logIn(
  agent: UserAgent,
  origin: string,
): Promise<{ readonly url: string; readonly response: Response }> {
  const home = await (await agent.fetch(`${origin}/`)).text()
  const link = /<a href="([^"]+)">Log in<\/a>/.exec(home)?.[1]
  assert.ok(link !== undefined, `the home page has a "Log in" link: ${home}`)
  let url = new URL(link, origin).href
  let body: URLSearchParams | undefined
  for (let hop = 0; hop < 20; hop += 1) {
    const response = await agent.fetch(url, body === undefined ? {} : { method: 'POST', body })
    body = undefined
    const location = response.headers.get('location')
    if (new URL(url).origin === origin && location === null) return { url, response }
    if (location !== null) {
      await response.body?.cancel()
      url = new URL(location, url).href
      continue
    }
    const html = await response.text()
    assert.equal(response.status, 200, `${url}: ${html.slice(0, 500)}`)
    const action = /<form method="post" action="([^"]+\/(login|confirm))"/.exec(html)
    assert.ok(
      action?.[1] !== undefined,
      `a sign-in or consent form at ${url}: ${html.slice(0, 500)}`,
    )
    url = new URL(action[1], url).href
    body =
      action[2] === 'login'
        ? new URLSearchParams({ login: 'alice', password: 'demo' })
        : new URLSearchParams()
  }
  throw new Error('the login did not come back to the app within 20 steps')
}

test(
  'the "your own app" guide as written: a fresh app from the packed tarball logs in at the example banks',
  { timeout: 300_000 },
  async (t) => {
    assert.ok(existsSync(join(root, 'dist/bin/express-fapi.js')), 'dist/ is built (npm run build)')
    const work = mkdtempSync(join(tmpdir(), 'express-fapi-own-app-'))
    t.after(() => rmSync(work, { recursive: true, force: true }))

    // 1. Install: the packed tarball, named as the guide names it.
    const tarball = `${pkg.name}-${pkg.version}.tgz`
    assert.ok(
      guide.includes(`npm install ../express-fapi/${tarball}`),
      `${GUIDE} installs ${tarball}`,
    )
    await exec('npm', ['pack', '--ignore-scripts', '--pack-destination', work], root)
    assert.ok(existsSync(join(work, tarball)))
    symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'), 'dir')
    const appDir = join(work, 'my-app')
    mkdirSync(appDir)
    writeFileSync(
      join(appDir, 'package.json'),
      JSON.stringify({
        name: 'my-app',
        private: true,
        type: 'module',
        dependencies: {
          [pkg.name]: `file:../${tarball}`,
          jose: 'file:../node_modules/jose',
          debug: 'file:../node_modules/debug',
        },
      }),
    )
    await exec(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--omit=peer',
        '--legacy-peer-deps',
      ],
      appDir,
    )
    assert.ok(!statSync(join(appDir, 'node_modules', pkg.name)).isSymbolicLink(), 'unpacked')

    // 2. The key, made by the packed command as the guide says.
    const keysArgs = guideKeysCommand()
    const printed = await exec(
      'npm',
      ['exec', '--offline', '--', 'express-fapi', ...keysArgs],
      appDir,
    )
    const keyFile = join(appDir, 'signing-key.json')
    assert.equal(statSync(keyFile).mode & 0o777, 0o600)
    const privateJwk = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>
    assert.equal(privateJwk.alg, 'PS256')
    const jwks = JSON.parse(printed) as { keys: Record<string, unknown>[] }
    assert.equal(jwks.keys[0]?.kid, privateJwk.kid)
    assert.equal(jwks.keys[0]?.d, undefined)

    // 3. The example banks, with the development client at the app's port.
    const appPort = await freePort()
    const origin = `http://localhost:${appPort}`
    const banks = await startExample({
      portalPort: 0,
      asPort: 0,
      bankBPort: 0,
      dataDirs: { portal: join(work, 'portal'), authorizationServer: join(work, 'banks') },
      myAppUrl: origin,
    })
    t.after(() => banks.close())

    // 4. The guide's app.
    writeFileSync(join(appDir, 'app.js'), guideApp())
    const bankA = { PORT: String(appPort), ISSUER: banks.issuers['bank-a'] }
    const app = await startApp(t, appDir, bankA)

    const served = await fetch(`${origin}/.well-known/jwks.json`)
    assert.deepEqual(await served.json(), jwks, 'the app publishes the key the command printed')

    const agent = new UserAgent()
    const account = await logIn(agent, origin)
    const text = await account.response.text()
    assert.equal(account.response.status, 200, `${account.url}: ${text.slice(0, 500)}`)
    assert.equal(account.url, `${origin}/account`)
    const shown = JSON.parse(text) as {
      sub: string
      claims: Record<string, unknown>
    }
    assert.equal(shown.sub, 'alice')
    assert.equal(shown.claims.iss, banks.issuers['bank-a'])
    assert.equal(shown.claims.aud, 'my-app')
    assert.equal(shown.claims.name, 'Alice Andersen')
    assert.equal(shown.claims.email, 'alice@example.test')

    // "Log out" signs out at the bank too and comes back to the app's home page.
    const home = await (await agent.fetch(`${origin}/`)).text()
    assert.match(home, /<form method="post" action="\/auth\/logout">/)
    const logout = await agent.fetch(`${origin}/auth/logout`, {
      method: 'POST',
      body: new URLSearchParams(),
    })
    const endSession = logout.headers.get('location')
    assert.ok(
      endSession !== null && endSession.startsWith(banks.issuers['bank-a']),
      `to the bank: ${String(endSession)}`,
    )
    const back = await agent.logout(endSession, { postLogoutRedirectUri: `${origin}/` })
    assert.equal(new URL(back).origin, origin)
    assert.match(await (await agent.fetch(`${origin}/`)).text(), />Log in<\/a>/)

    // Another kind of key, at the other bank (which has not fetched the app's keys yet): no new
    // registration, whichever algorithm the key signs with.
    app.kill('SIGTERM')
    await once(app, 'exit')
    rmSync(keyFile)
    await exec(
      'npm',
      [
        'exec',
        '--offline',
        '--',
        'express-fapi',
        'keys',
        '--alg',
        'EdDSA',
        '--out',
        'signing-key.json',
      ],
      appDir,
    )
    await startApp(t, appDir, { PORT: String(appPort), ISSUER: banks.issuers['bank-b'] })
    const atBankB = await logIn(new UserAgent(), origin)
    assert.equal(atBankB.response.status, 200)
    assert.equal(atBankB.url, `${origin}/account`)
    const claimsB = ((await atBankB.response.json()) as { claims: Record<string, unknown> }).claims
    assert.equal(claimsB.iss, banks.issuers['bank-b'])
    assert.equal(claimsB.name, 'Alice Andersen')
  },
)
