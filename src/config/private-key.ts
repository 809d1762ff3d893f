/**
 * The common part of importing the client's own private keys (signing and encryption): a `kid`,
 * a private asymmetric key given as a JWK or a `KeyObject`, imported synchronously at startup.
 *
 * @module
 */
import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { FapiConfigError, failOption } from '../errors.js'

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'KeyObject'
  )
}

/**
 * The `kid` and the private `KeyObject` of a key option: a private JWK with `kid`, or
 * `{ kid, key: KeyObject }`. Symmetric (`oct`) keys are refused with `octMessage`.
 *
 * @throws {FapiConfigError}
 */
export function importPrivateKey(
  input: (JWK & { kid: string }) | { kid: string; key: KeyObject },
  where: string,
  messages: { kid: string; oct: string },
): { kid: string; privateKey: KeyObject } {
  if (typeof input !== 'object' || input === null) {
    failOption(where, 'must be a private JWK or { kid, key }')
  }
  const kid: unknown = input.kid
  if (typeof kid !== 'string' || kid === '') failOption(where, messages.kid)
  let privateKey: KeyObject
  if ('key' in input && isKeyObject(input.key)) {
    privateKey = input.key
  } else if ('kty' in input && typeof input.kty === 'string') {
    if (input.kty === 'oct') failOption(where, messages.oct)
    try {
      privateKey = createPrivateKey({ key: input as JsonWebKey, format: 'jwk' })
    } catch (cause) {
      throw new FapiConfigError(
        `express-fapi: option "${where}" is not a usable private JWK (${(cause as Error).message})`,
      )
    }
  } else {
    failOption(where, 'must be a private JWK or { kid, key: KeyObject }')
  }
  if (privateKey.type !== 'private') failOption(where, 'must be a private key, not a public one')
  return { kid, privateKey }
}
