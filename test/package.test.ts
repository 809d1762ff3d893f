import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { ERROR_TABLE } from '../src/errors.js'
import * as main from '../src/index.js'
import * as core from '../src/core/index.js'
import { generateJwks } from './support/keys.js'

const root = new URL('../', import.meta.url)

/** Every file below `dir` whose name ends with `ending`: its name, its text and its folder. */
function sourceFiles(dir: URL, ending = '.ts'): [string, string, URL][] {
  const files: [string, string, URL][] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) files.push(...sourceFiles(new URL(`${entry.name}/`, dir), ending))
    else if (entry.name.endsWith(ending)) {
      files.push([entry.name, readFileSync(new URL(entry.name, dir), 'utf8'), dir])
    }
  }
  return files
}

/**
 * What docs/reference/errors.md (`page`) says against the codes of `ERROR_TABLE`: each code has a
 * heading `### \`CODE\``, and each such heading names a code (or `ERR_INVALID_CONFIG`, the startup
 * error, which is not a request-time code).
 */
function errorDocProblems(page: string, codes: readonly string[]): string[] {
  const documented = [...page.matchAll(/^### `(ERR_[A-Z0-9_]+)`$/gm)].map((match) => match[1]!)
  return [
    ...codes
      .filter((code) => !documented.includes(code))
      .map((code) => `docs/reference/errors.md has no heading for ${code}`),
    ...documented
      .filter((code) => code !== 'ERR_INVALID_CONFIG' && !codes.includes(code))
      .map((code) => `docs/reference/errors.md documents ${code}, which errors.ts does not have`),
  ]
}

describe('the package', () => {
  test('CommonJS users can require() the built package (require(esm), Node >= 20.19)', () => {
    const require = createRequire(new URL('package.json', root))
    const loaded = require('express-fapi') as Record<string, unknown>
    assert.equal(typeof loaded.fapiClient, 'function')
    assert.equal(typeof loaded.errorHandler, 'function')
    assert.equal(typeof loaded.FapiError, 'function')
  })

  test('ESM users import the built package through its exports map', async () => {
    // A specifier typed as string: resolved at run time through the exports map, not by tsc.
    const specifier: string = 'express-fapi'
    const loaded = (await import(specifier)) as Record<string, unknown>
    assert.equal(typeof loaded.fapiClient, 'function')
    assert.deepEqual(
      Object.keys(loaded).sort(),
      [
        'AuthorizationError',
        'AuthorizationResponseError',
        'CoordinationError',
        'ERROR_TABLE',
        'FapiConfigError',
        'FapiError',
        'IdTokenError',
        'ServerResponseError',
        'SessionError',
        'derToJose',
        'errorHandler',
        'fapiClient',
        'fapiClients',
        'fapiRegistration',
        'isFapiError',
        'memoryCoordination',
        'memoryGrantStore',
        'memoryRegistrations',
        'redisCoordination',
        'redisGrantStore',
        'redisRegistrations',
      ],
      'the public surface is deliberate: nothing internal is exported',
    )
  })

  test('express-fapi/core is importable from ESM and from CommonJS (require(esm))', async () => {
    const specifier: string = 'express-fapi/core'
    const esm = (await import(specifier)) as Record<string, unknown>
    const require = createRequire(new URL('package.json', root))
    const cjs = require('express-fapi/core') as Record<string, unknown>
    for (const loaded of [esm, cjs]) {
      assert.equal(typeof loaded.createFapiCore, 'function')
      assert.equal(typeof loaded.FapiError, 'function')
      assert.equal(loaded.fapiClient, undefined, 'the core entry has no middleware')
    }
    // One module graph: an error thrown by the core is an instance of the main entry's class.
    const main = (await import('express-fapi' as string)) as Record<string, unknown>
    assert.equal(esm.FapiError, main.FapiError)
  })

  test('the source maps point to sources the package ships', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      files: string[]
    }
    const maps = sourceFiles(new URL('dist/', root), '.js.map')
    assert.ok(maps.length > 20)
    for (const [name, text, dir] of maps) {
      const map = JSON.parse(text) as { sources: string[] }
      for (const source of map.sources) {
        const target = new URL(source, dir)
        const shipped = pkg.files.some((entry) =>
          target.href.startsWith(new URL(`${entry}/`, root).href),
        )
        assert.ok(shipped, `${name} points to ${source}, which the package does not ship`)
        assert.ok(readFileSync(target, 'utf8').length > 0, `${name}: ${source} exists`)
      }
    }
  })

  test('src/core never imports Express (protocol code is framework-free)', () => {
    const files = sourceFiles(new URL('src/core/', root))
    assert.ok(files.length > 20)
    for (const [name, text] of files) {
      assert.doesNotMatch(text, /from ['"](express|express-session|connect)['"]/, name)
      assert.doesNotMatch(text, /from ['"](\.\.\/)+(express|middleware)\//, name)
      assert.doesNotMatch(text, /\b(req|res)\.(set|status|redirect|json|send|get|accepts)\(/, name)
    }
  })

  test('every error code in errors.ts is documented in docs/reference/errors.md, and only those', () => {
    const page = readFileSync(new URL('docs/reference/errors.md', root), 'utf8')
    const codes = Object.keys(ERROR_TABLE)
    assert.ok(codes.length > 30)
    assert.deepEqual(errorDocProblems(page, codes), [])
  })

  test('the error page check notices a code missing from the page, or one errors.ts lacks', () => {
    const page = readFileSync(new URL('docs/reference/errors.md', root), 'utf8')
    const codes = Object.keys(ERROR_TABLE)
    const missing = page.replace('### `ERR_TRANSACTION_NOT_FOUND`', '### ERR_TRANSACTION_NOT_FOUND')
    assert.notEqual(missing, page)
    assert.deepEqual(errorDocProblems(missing, codes), [
      'docs/reference/errors.md has no heading for ERR_TRANSACTION_NOT_FOUND',
    ])
    const extra = `${page}\n### \`ERR_NO_SUCH_CODE\`\n\nHTTP 400.\n`
    assert.deepEqual(errorDocProblems(extra, codes), [
      'docs/reference/errors.md documents ERR_NO_SUCH_CODE, which errors.ts does not have',
    ])
  })

  test('every function the error reference names is exported by the package, or a method of what it returns', async () => {
    const section = readFileSync(new URL('docs/reference/errors.md', root), 'utf8')
    const { privateJwk } = await generateJwks('ES256', 'table')
    const options = {
      issuer: 'https://as.example.test',
      clientId: 'portal',
      redirectUri: 'https://app.example.test/auth/callback',
      keys: { signing: [privateJwk] },
    }
    const client = main.fapiClient(options)
    const clients = main.fapiClients({ a: options })
    const known = new Set([
      ...Object.keys(main),
      ...Object.keys(core),
      ...Object.keys(client),
      ...Object.keys(clients),
      ...Object.keys(client.core),
    ])
    // The app's own functions the table speaks of: Express's next(err), fapiClients()'s
    // principal(req) option, an external signer's sign().
    const appFunctions = new Set(['next', 'principal', 'sign'])
    const named = [...section.matchAll(/`(?:[A-Za-z_$][\w$]*\.)*([A-Za-z_$][\w$]*)\(/g)].map(
      (match) => match[1] ?? '',
    )
    assert.ok(named.includes('fapiClients'), 'the table names functions')
    for (const name of named) {
      assert.ok(
        known.has(name) || appFunctions.has(name),
        `docs/reference/errors.md names ${name}(), which the package does not export`,
      )
    }
  })
})
