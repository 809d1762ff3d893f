/**
 * The error table: every code has one row (class, status, default message), every throw site
 * names its code literally and uses the class of its row, and no cause carries a secret.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { inspect } from 'node:util'
import { describe, test } from 'node:test'
import { errors as jose } from 'jose'
import {
  AuthorizationError,
  ERROR_TABLE,
  FapiError,
  IdTokenError,
  SessionError,
  isFapiError,
  type AnyFapiError,
  type FapiErrorCode,
} from '../src/errors.js'

const root = new URL('../', import.meta.url)

function sources(dir: URL): [string, string][] {
  const files: [string, string][] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) files.push(...sources(new URL(`${entry.name}/`, dir)))
    else if (entry.name.endsWith('.ts')) {
      files.push([entry.name, readFileSync(new URL(entry.name, dir), 'utf8')])
    }
  }
  return files
}

/** Source text without comments, so documentation may name codes freely. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

describe('errors from one table', () => {
  test('every throw site names a code of the table and uses the class of its row', () => {
    let sites = 0
    for (const [name, text] of sources(new URL('src/', root))) {
      for (const match of code(text).matchAll(/new (\w+Error)\(\s*'(ERR_[A-Z_]+)'/g)) {
        const [, cls, errorCode] = match as unknown as [string, string, string]
        if (cls === 'FapiConfigError') continue
        sites += 1
        const row = (ERROR_TABLE as Record<string, { kind: string }>)[errorCode]
        assert.ok(row, `${name}: ${errorCode} has no row in ERROR_TABLE`)
        assert.equal(
          cls,
          row.kind,
          `${name}: ${errorCode} is thrown as ${cls}, its row says ${row.kind}`,
        )
      }
    }
    assert.ok(sites > 40, `${sites} throw sites`)
  })

  test('no code is built from parts (every code can be found at its throw site)', () => {
    for (const [name, text] of sources(new URL('src/', root))) {
      assert.doesNotMatch(code(text), /`ERR_\$\{|'ERR_' \+|"ERR_" \+/, name)
    }
  })

  test('constructors take (code, message?, cause?): the status and default message come from the row', () => {
    const error = new SessionError('ERR_TRANSACTION_NOT_FOUND')
    assert.equal(error.status, ERROR_TABLE.ERR_TRANSACTION_NOT_FOUND.status)
    assert.equal(error.message, ERROR_TABLE.ERR_TRANSACTION_NOT_FOUND.message)
    assert.equal(new IdTokenError('ERR_ID_TOKEN_EXPIRED', 'ID token: "exp" is past').status, 502)
    assert.equal(new AuthorizationError('access_denied', undefined).status, 403)
    assert.equal(new AuthorizationError('server_error', undefined).status, 400)
    for (const [errorCode, row] of Object.entries(ERROR_TABLE)) {
      assert.ok(row.status >= 400 && row.status < 600, errorCode)
      assert.ok(row.message.length > 10, errorCode)
    }
  })

  test('no secrets in cause: a cause never carries the JWT payload, code or state of the failure', () => {
    const payload = {
      code: 'SplxlOBeZQQYbYS6WxSbIA-code',
      state: 'af0ifjsldkj-state-value',
      sub: 'alice',
    }
    const cause = new jose.JWTClaimValidationFailed(
      '"aud" claim check failed',
      payload,
      'aud',
      'check_failed',
    )
    const error = new AuthorizationError('x', undefined)
    const wrapped = new IdTokenError(
      'ERR_ID_TOKEN_AUD_MISMATCH',
      'ID token: "aud" is not this client',
      cause,
    )
    const printed = `${inspect(wrapped, { depth: 10 })} ${JSON.stringify(wrapped)} ${inspect(error)}`
    for (const secret of Object.values(payload)) assert.ok(!printed.includes(secret), secret)
    assert.equal((wrapped.cause as Error).name, 'JWTClaimValidationFailed')
    assert.equal((wrapped.cause as { code?: string }).code, 'ERR_JWT_CLAIM_VALIDATION_FAILED')
    assert.equal((wrapped.cause as { payload?: unknown }).payload, undefined)
  })

  test('a cause whose message holds a token-like value keeps the message with the value redacted', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ'
    const error = new FapiError(
      'ERR_INTERNAL',
      undefined,
      new SyntaxError(`Unexpected token in "${token}"`),
    )
    assert.ok(!inspect(error, { depth: 10 }).includes('eyJzdWIiOiJhbGljZSJ9'))
    assert.match((error.cause as Error).message, /Unexpected token in "\[redacted\]/)
  })

  test("RFC 9207 §2.4: an unverified error response gets a fixed message, not the sender's text", () => {
    const error = new AuthorizationError('<b>call +1-555-0100 now</b>', 'pay here', false)
    assert.equal(error.code, 'ERR_AUTHORIZATION_ERROR_UNVERIFIED')
    assert.ok(!error.message.includes('555'), error.message)
  })

  test('AnyFapiError narrows on code to its class', () => {
    const caught: unknown = new AuthorizationError('access_denied', 'declined')
    assert.ok(isFapiError(caught))
    const error: AnyFapiError = caught
    if (error.code === 'ERR_AUTHORIZATION_ERROR') {
      // Compiles only because the code narrowed `error` to AuthorizationError.
      const oauthError: string = error.error
      assert.equal(oauthError, 'access_denied')
    } else {
      assert.fail('narrowing')
    }
    const codes: FapiErrorCode[] = Object.keys(ERROR_TABLE) as FapiErrorCode[]
    assert.ok(codes.includes('ERR_INTERNAL'))
    assert.equal(isFapiError(new Error('x')), false)
  })
})
