/**
 * `express-fapi keys`, the built command run as a real process (`node dist/bin/express-fapi.js`,
 * what npm links as `node_modules/.bin/express-fapi`): the keys it makes are keys the library
 * accepts, the private key goes only where it was asked to (stdout, or a new 0600 file), and every
 * mistake is exit code 2 with one line on stderr. Needs `npm run build` first (npm test's build
 * step does it).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, test } from 'node:test'
import { calculateJwkThumbprint, compactVerify, importJWK, CompactSign, type JWK } from 'jose'
import { fapiClient } from '../src/index.js'

const root = new URL('../', import.meta.url)
const BIN = fileURLToPath(new URL('dist/bin/express-fapi.js', root))
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the built command with `args` in `cwd`; resolves with its exit code and output. */
function run(args: readonly string[], cwd = tmpdir()): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, timeout: 30_000, env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(error)
          return
        }
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr })
      },
    )
  })
}

function parse(line: string | undefined): Record<string, unknown> {
  assert.ok(line !== undefined && line !== '', 'a line of output')
  const value: unknown = JSON.parse(line)
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value))
  return value as Record<string, unknown>
}

function publicKeysOf(jwks: Record<string, unknown>): JWK[] {
  assert.deepEqual(Object.keys(jwks), ['keys'])
  assert.ok(Array.isArray(jwks.keys))
  return jwks.keys as JWK[]
}

/** `privateJwk` signs, the JWKS's key verifies, and the library takes it for `keys.signing`. */
async function assertUsable(privateJwk: JWK, publicJwk: JWK, alg: string): Promise<void> {
  const jws = await new CompactSign(new TextEncoder().encode('a request object'))
    .setProtectedHeader({ alg, kid: String(privateJwk.kid) })
    .sign(await importJWK(privateJwk, alg))
  const { payload } = await compactVerify(jws, await importJWK(publicJwk, alg))
  assert.equal(new TextDecoder().decode(payload), 'a request object')
  const auth = fapiClient({
    issuer: 'https://as.example.com',
    clientId: 'my-app',
    redirectUri: 'https://app.example.com/auth/callback',
    keys: { signing: [privateJwk as JWK & { kid: string }] },
  })
  // What the app publishes at its jwks_uri is what the command printed.
  const jwksRoute = auth.jwks()
  const server = createServer((req, res) => {
    void jwksRoute(req, res, () => res.writeHead(404).end())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const { port } = server.address() as AddressInfo
    const response = await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { keys: [publicJwk] })
  } finally {
    server.close()
  }
}

const work = mkdtempSync(join(tmpdir(), 'express-fapi-keys-'))
after(() => rmSync(work, { recursive: true, force: true }))

describe('express-fapi keys', { timeout: 120_000 }, () => {
  test('the package names the command, built with its shebang', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      bin: Record<string, string>
      files: string[]
    }
    assert.deepEqual(pkg.bin, { 'express-fapi': 'dist/bin/express-fapi.js' })
    assert.ok(pkg.files.includes('dist'))
    assert.match(readFileSync(BIN, 'utf8'), /^#!\/usr\/bin\/env node\n/)
  })

  for (const [alg, kty, crv] of [
    ['PS256', 'RSA', undefined],
    ['ES256', 'EC', 'P-256'],
    ['EdDSA', 'OKP', 'Ed25519'],
  ] as const) {
    test(`--alg ${alg}: a private JWK with kid, alg and use, then its public JWKS`, async () => {
      const { code, stdout, stderr } = await run(
        alg === 'PS256' ? ['keys'] : ['keys', '--alg', alg],
      )
      assert.equal(code, 0, stderr)
      assert.equal(stderr, '', 'nothing on stderr')
      const lines = stdout.trimEnd().split('\n')
      assert.equal(lines.length, 2, stdout)
      const privateJwk = parse(lines[0]) as JWK
      const [publicJwk, ...others] = publicKeysOf(parse(lines[1]))
      assert.ok(publicJwk !== undefined)
      assert.deepEqual(others, [])
      assert.equal(privateJwk.kty, kty)
      assert.equal(privateJwk.crv, crv)
      assert.equal(privateJwk.alg, alg)
      assert.equal(privateJwk.use, 'sig')
      assert.equal(typeof privateJwk.d, 'string')
      if (kty === 'RSA') assert.equal(Buffer.from(String(privateJwk.n), 'base64url').length, 256)
      // The kid is the RFC 7638 thumbprint of the public key.
      assert.equal(privateJwk.kid, await calculateJwkThumbprint(publicJwk, 'sha256'))
      for (const member of PRIVATE_MEMBERS) assert.equal(publicJwk[member as keyof JWK], undefined)
      assert.deepEqual(publicJwk, {
        ...Object.fromEntries(
          Object.entries(privateJwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name)),
        ),
      })
      await assertUsable(privateJwk, publicJwk, alg)
    })
  }

  test('two runs make two different keys', async () => {
    const [first, second] = await Promise.all([
      run(['keys', '--alg', 'ES256']),
      run(['keys', '--alg', 'ES256']),
    ])
    assert.notEqual(parse(first?.stdout.split('\n')[0]).d, parse(second?.stdout.split('\n')[0]).d)
  })

  test('--out FILE: the private JWK in a new file of mode 0600, only the public JWKS printed', async () => {
    const file = join(work, 'signing-key.json')
    const { code, stdout, stderr } = await run(['keys', '--alg', 'ES256', '--out', file], work)
    assert.equal(code, 0, stderr)
    assert.equal(stderr, '')
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const privateJwk = parse(readFileSync(file, 'utf8')) as JWK
    assert.equal(typeof privateJwk.d, 'string')
    assert.doesNotMatch(stdout, /"d"/, 'no private member printed')
    assert.equal(stdout.trimEnd().split('\n').length, 1)
    const [publicJwk] = publicKeysOf(parse(stdout.trimEnd()))
    assert.ok(publicJwk !== undefined)
    assert.equal(publicJwk.kid, privateJwk.kid)
    await assertUsable(privateJwk, publicJwk, 'ES256')
  })

  test('--out never overwrites a file: exit code 2, the file unchanged', async () => {
    const file = join(work, 'existing.json')
    writeFileSync(file, 'my old key\n')
    const { code, stdout, stderr } = await run(['keys', '--out', file], work)
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(
      stderr,
      /^express-fapi: --out .*existing\.json: cannot write the key there: the file exists/,
    )
    assert.equal(readFileSync(file, 'utf8'), 'my old key\n')
  })

  const mistakes: ReadonlyArray<readonly [string, readonly string[], RegExp]> = [
    [
      'an algorithm FAPI does not take',
      ['keys', '--alg', 'RS256'],
      /--alg must be PS256, ES256 or EdDSA, got "RS256"/,
    ],
    ['no algorithm after --alg', ['keys', '--alg'], /'--alg <value>' argument missing/],
    ['an unknown option', ['keys', '--bits', '4096'], /Unknown option '--bits'/],
    ['an argument the command does not take', ['keys', 'extra'], /Unexpected argument 'extra'/],
    ['an empty --out', ['keys', '--out='], /--out needs a file name/],
    [
      'a folder that does not exist',
      ['keys', '--out', join(work, 'nowhere', 'key.json')],
      /its folder does not exist/,
    ],
    ['a folder as the file', ['keys', '--out', work], /cannot write the key there/],
    ['no command', [], /a command is needed: express-fapi keys/],
    ['an unknown command', ['key'], /unknown command "key"/],
  ]
  for (const [what, args, message] of mistakes) {
    test(`${what}: exit code 2, one line on stderr, nothing on stdout`, async () => {
      const { code, stdout, stderr } = await run(args, work)
      assert.equal(code, 2, stderr)
      assert.equal(stdout, '', 'no key made')
      assert.match(stderr, /^express-fapi: [^\n]+\n$/, 'one line')
      assert.match(stderr, message)
      assert.doesNotMatch(stderr, /\bat .*\.js:\d+/, 'no stack trace')
    })
  }

  test('--help prints the usage and makes no key', async () => {
    for (const args of [['--help'], ['keys', '--help']]) {
      const { code, stdout, stderr } = await run(args)
      assert.equal(code, 0, stderr)
      assert.match(stdout, /Usage: express-fapi keys \[--alg PS256\|ES256\|EdDSA\] \[--out FILE\]/)
      assert.doesNotMatch(stdout, /"d"/)
    }
  })
})
