/**
 * `express-fapi keys`: a new private signing key for `keys.signing`, as a JWK with `kid`, `alg`
 * and `use: 'sig'`, and its public JWKS (what the client's `jwks_uri` serves, or what is
 * registered as `jwks`). The `kid` is the key's JWK thumbprint (RFC 7638).
 *
 * The private key goes to stdout, or with `--out FILE` to a new file readable by its owner only
 * (mode 0600, never overwriting one), and then only the public JWKS is printed. It never goes to
 * stderr: error messages name the option at fault, nothing else.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { calculateJwkThumbprint, type JWK } from 'jose'

/** The algorithms FAPI 2.0 accepts for client keys (§5.4.1), PS256 first (FAPI 1.0 also takes it). */
export const KEY_ALGORITHMS = ['PS256', 'ES256', 'EdDSA'] as const

/** An algorithm `express-fapi keys --alg` makes a key for. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number]

/** A mistake in the command line or the `--out` path: exit code 2, one line, no key in it. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** The help text of `express-fapi keys`. */
export const KEYS_USAGE = `Usage: express-fapi keys [--alg PS256|ES256|EdDSA] [--out FILE]

Makes a private signing key for keys.signing and prints it as a JWK, then its public JWKS.
  --alg ALG   PS256 (RSA 2048, the default), ES256 (P-256) or EdDSA (Ed25519)
  --out FILE  write the private JWK to FILE (a new file, mode 0600); print only the public JWKS
`

/** A private signing JWK and its public JWKS. */
export interface SigningKeyPair {
  readonly privateJwk: JWK & { readonly kid: string; readonly alg: KeyAlgorithm; use: 'sig' }
  readonly jwks: { readonly keys: readonly JWK[] }
}

function keyPairFor(alg: KeyAlgorithm): KeyObject {
  switch (alg) {
    case 'PS256':
      // FAPI 1.0 Baseline §5.2.4 (2), FAPI 2.0 §5.4.1: RSA keys of at least 2048 bits.
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey
  }
}

/**
 * A new signing key for `alg`, its `kid` the RFC 7638 thumbprint of its public key.
 *
 * @example
 * const { privateJwk, jwks } = await signingKeyPair('ES256')
 * @see https://openid.net/specs/fapi-security-profile-2_0-final.html#section-5.4.1
 */
export async function signingKeyPair(alg: KeyAlgorithm): Promise<SigningKeyPair> {
  const privateKey = keyPairFor(alg)
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256')
  const labels = { kid, alg, use: 'sig' as const }
  return {
    privateJwk: { ...(privateKey.export({ format: 'jwk' }) as JWK), ...labels },
    jwks: { keys: [{ ...publicJwk, ...labels }] },
  }
}

/** What `express-fapi keys` was asked for. */
interface KeysRequest {
  readonly alg: KeyAlgorithm
  readonly out: string | undefined
  readonly help: boolean
}

function parseKeysArgs(args: readonly string[]): KeysRequest {
  let parsed
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        alg: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    })
  } catch (error) {
    // parseArgs names the option ("Unknown option '--x'", "argument missing"): one line of it.
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : ''
    throw new UsageError(message.replace(/\.? To specify a positional argument.*$/, ''))
  }
  const { alg = 'PS256', out, help = false } = parsed.values
  if (!(KEY_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new UsageError(`--alg must be PS256, ES256 or EdDSA, got "${alg}"`)
  }
  if (out === '') throw new UsageError('--out needs a file name')
  return { alg: alg as KeyAlgorithm, out, help }
}

/** Writes `text` to a new file `path`, mode 0600; refuses an existing file. */
async function writePrivate(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'EEXIST'
        ? 'the file exists (a key is never overwritten; choose another name or delete it)'
        : code === 'ENOENT'
          ? 'its folder does not exist'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : code === 'EISDIR'
              ? 'it is a folder'
              : `the system said ${code ?? 'no'}`
    throw new UsageError(`--out ${path}: cannot write the key there: ${why}`)
  }
}

/**
 * Runs `express-fapi keys ARGS`, writing what it prints with `print` (stdout).
 *
 * @throws {UsageError} for a mistake in `args` or a `--out` that cannot be written
 */
export async function keysCommand(
  args: readonly string[],
  print: (text: string) => void,
): Promise<void> {
  const request = parseKeysArgs(args)
  if (request.help) {
    print(KEYS_USAGE)
    return
  }
  const { privateJwk, jwks } = await signingKeyPair(request.alg)
  if (request.out === undefined) {
    print(`${JSON.stringify(privateJwk)}\n${JSON.stringify(jwks)}\n`)
    return
  }
  await writePrivate(request.out, `${JSON.stringify(privateJwk, null, 2)}\n`)
  print(`${JSON.stringify(jwks)}\n`)
}
