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

  test('every error code in errors.ts is documented in the README, and only those', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8')
    const codes = Object.keys(ERROR_TABLE)
    assert.ok(codes.length > 30)
    for (const code of codes) assert.match(readme, new RegExp(`\\| \`${code}\`\\s+\\|`), code)
    const section = readme.slice(
      readme.indexOf('## Error codes'),
      readme.indexOf('## Security notes'),
    )
    const documented = [...section.matchAll(/^\| `(ERR_[A-Z_]+)`/gm)].map((match) => match[1])
    for (const code of documented) {
      assert.ok(
        code === 'ERR_INVALID_CONFIG' || codes.includes(code ?? ''),
        `README documents ${code}, which errors.ts does not have`,
      )
    }
  })

  test('every function the README error table names is exported by the package, or a method of what it returns', async () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8')
    const section = readme.slice(
      readme.indexOf('## Error codes'),
      readme.indexOf('## Security notes'),
    )
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
        `the README error table names ${name}(), which the package does not export`,
      )
    }
  })
})
