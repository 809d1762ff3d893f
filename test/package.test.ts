import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

const root = new URL('../', import.meta.url)

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
        'FapiConfigError',
        'FapiError',
        'IdTokenError',
        'ServerResponseError',
        'SessionError',
        'errorHandler',
        'fapiClient',
      ],
      'the public surface is deliberate: nothing internal is exported',
    )
  })

  test('src/core never imports Express (protocol code is framework-free)', () => {
    const dir = new URL('src/core/', root)
    const files = readdirSync(dir).filter((name) => name.endsWith('.ts'))
    assert.ok(files.length > 5)
    for (const name of files) {
      const text = readFileSync(new URL(name, dir), 'utf8')
      assert.doesNotMatch(text, /from ['"](express|express-session)['"]/, name)
      assert.doesNotMatch(text, /from ['"]\.\.\/express\//, name)
    }
  })

  test('every error code in errors.ts is documented in the README', () => {
    const errors = readFileSync(new URL('src/errors.ts', root), 'utf8')
    const readme = readFileSync(new URL('README.md', root), 'utf8')
    const codes = [...errors.matchAll(/'(ERR_[A-Z_]+)'/g)].map((match) => match[1])
    assert.ok(codes.length > 30)
    for (const code of new Set(codes)) assert.match(readme, new RegExp(`\`${code}\``), code)
  })
})
