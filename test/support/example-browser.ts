/**
 * For the feature examples' tests: an example started with the very command a user types
 * (`npm run example <file>`, read from package.json), as a child process stopped by its pid, and
 * a scripted browser that follows redirects with its cookies and fills in the example banks' own
 * pages (sign in as alice / demo, allow the consent, confirm the sign-out).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { decodeHtmlEntities, UserAgent } from './user-agent.js'

const root = new URL('../../', import.meta.url)

/** `npm run example`'s command, split: e.g. `node --conditions=… --import tsx`. */
function exampleCommand(): [string, string[]] {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
    scripts: Record<string, string>
  }
  const [command, ...args] = (pkg.scripts.example ?? '').split(' ')
  if (command !== 'node') throw new Error('npm run example is expected to run node')
  return [process.execPath, args]
}

export interface StartedExample {
  /** The app's origin, as the example printed it. */
  readonly origin: string
  /** Everything the example printed so far (stdout and stderr). */
  output(): string
  /** Resolves with the first printed line matching `pattern` (bounded by the test's timeout). */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>
  readonly child: ChildProcess
}

/** Runs `examples/<file>` on a free port; stops it (SIGTERM to its pid) after the test. */
export async function startExample(
  t: TestContext,
  file: string,
  env: Readonly<Record<string, string>> = {},
): Promise<StartedExample> {
  const [node, args] = exampleCommand()
  const child = spawn(node, [...args, `examples/${file}`], {
    cwd: root,
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit')
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid as number, 'SIGTERM')
      // It closes its servers and exits; should it hang, it is killed (a bound, not a timing).
      const kill = setTimeout(() => process.kill(child.pid as number, 'SIGKILL'), 15_000)
      await exited
      clearTimeout(kill)
    }
  })
  let text = ''
  const waiting = new Set<() => void>()
  const append = (chunk: Buffer) => {
    text += chunk.toString('utf8')
    for (const check of waiting) check()
  }
  child.stdout.on('data', append)
  child.stderr.on('data', append)
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const found = text.match(pattern)
        if (found !== null) {
          waiting.delete(check)
          resolve(found)
        } else if (child.exitCode !== null) {
          waiting.delete(check)
          reject(new Error(`examples/${file} exited (${child.exitCode}):\n${text}`))
        }
      }
      waiting.add(check)
      child.once('exit', check)
      check()
    })
  const [, origin = ''] = await waitFor(/: (http:\/\/localhost:\d+) /)
  return { origin, output: () => text, waitFor, child }
}

/** Where a browser ended up: the last response's URL, status and body. */
export interface Landed {
  readonly url: string
  readonly status: number
  readonly text: string
}

interface Form {
  readonly action: string
  readonly inputs: [string, string][]
}

function formsOf(html: string, base: string): Form[] {
  const attribute = (tag: string, name: string) =>
    decodeHtmlEntities(new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1] ?? '')
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(
    ([, tag = '', body = '']) => ({
      action: new URL(attribute(tag, 'action') || base, base).href,
      inputs: [...body.matchAll(/<input\b([^>]*)>/gi)]
        .map(([, input = '']): [string, string] => [
          attribute(input, 'name'),
          attribute(input, 'value'),
        ])
        .filter(([name]) => name !== ''),
    }),
  )
}

/** A browser for the example apps and banks (cookies per host, redirects followed). */
export class ExampleBrowser {
  readonly agent = new UserAgent()
  /** Whom to sign in as at the bank. */
  login = 'alice'

  /**
   * Requests `url` and follows what a user would: redirects, the bank's sign-in and consent
   * (allowed) and its sign-out confirmation. Stops at any other page.
   */
  async visit(
    url: string,
    init: { method?: 'POST'; body?: URLSearchParams } = {},
  ): Promise<Landed> {
    let next: { url: string; method?: 'POST'; body?: URLSearchParams } = { url, ...init }
    for (let hop = 0; hop < 30; hop += 1) {
      const response = await this.agent.fetch(next.url, next)
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel()
        next = { url: new URL(location, next.url).href }
        continue
      }
      const text = await response.text()
      const forms = formsOf(text, next.url)
      const signIn = forms.find(({ action }) => /\/interaction\/[^/]+\/login$/.test(action))
      const consent = forms.find(({ action }) => /\/interaction\/[^/]+\/confirm$/.test(action))
      const signOut = forms.find(({ inputs }) => inputs.some(([name]) => name === 'xsrf'))
      if (signIn !== undefined) {
        const body = new URLSearchParams({ login: this.login, password: 'demo' })
        next = { url: signIn.action, method: 'POST', body }
      } else if (consent !== undefined) {
        next = { url: consent.action, method: 'POST', body: new URLSearchParams() }
      } else if (signOut !== undefined) {
        const body = new URLSearchParams([...signOut.inputs, ['logout', 'yes']])
        next = { url: signOut.action, method: 'POST', body }
      } else {
        return { url: next.url, status: response.status, text }
      }
    }
    throw new Error(`ExampleBrowser: more than 30 steps from ${url}`)
  }
}
