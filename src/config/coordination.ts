/**
 * The shapes of two options that reach beyond one process: `coordination` (the store several
 * instances share; the implementations are in `core/coordination/`) and `sessionSecrets` (the keys
 * that seal grant records in the grant store and pending logins in the session store), checked
 * once at startup.
 *
 * @module
 */
import { createSecretKey, KeyObject } from 'node:crypto'
import { failOption as fail } from '../errors.js'

/**
 * A shared store of short-lived keys (see `memoryCoordination()` and `redisCoordination()`).
 * Keys are chosen by express-fapi; values are small strings. Every method rejects with a
 * `CoordinationError` (`ERR_COORDINATION_UNAVAILABLE`) when the store cannot be reached.
 */
export interface Coordination {
  /**
   * Sets `key` to `value` for `ttlMs` only if it is absent (atomically, across instances):
   * resolves `true` for the one caller that set it, `false` for every other.
   */
  claim(key: string, ttlMs: number, value?: string): Promise<boolean>
  /** Deletes `key` only if it still holds `value` (a lock released by its owner only). */
  release(key: string, value: string): Promise<void>
  /** The value of `key`, or `undefined`. */
  get(key: string): Promise<string | undefined>
  /** Sets `key` to `value` for `ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>
}

/** One key that seals session secrets: 32 random bytes, named by `kid`. */
export interface SessionSecretKey {
  readonly kid: string
  /** 32 bytes: a Buffer, a base64url string, or a secret KeyObject. */
  readonly key: Uint8Array | string | KeyObject
}

/** The `sessionSecrets` option. */
export interface SessionSecretsOptions {
  /** The first key seals; every key opens (rotation: add the new key first, drop the old later). */
  readonly keys: readonly SessionSecretKey[]
}

/** The resolved sealing keys. Internal. */
export interface SessionSecrets {
  readonly current: { readonly kid: string; readonly key: KeyObject }
  readonly byKid: ReadonlyMap<string, KeyObject>
}

/** Validates `coordination`: undefined, or an object with the four methods. */
export function resolveCoordination(value: unknown): Coordination | undefined {
  if (value === undefined) return undefined
  const store = value as Record<string, unknown> | null
  if (
    typeof store !== 'object' ||
    store === null ||
    !['claim', 'release', 'get', 'set'].every((name) => typeof store[name] === 'function')
  ) {
    fail(
      'coordination',
      'must be a coordination store: memoryCoordination() or redisCoordination(client)',
    )
  }
  return value as Coordination
}

function secretKey(option: string, input: unknown): KeyObject {
  let key: KeyObject
  if (input instanceof KeyObject) {
    if (input.type !== 'secret') fail(option, 'must be a secret key (createSecretKey)')
    key = input
  } else if (typeof input === 'string') {
    key = createSecretKey(Buffer.from(input, 'base64url'))
  } else if (input instanceof Uint8Array) {
    key = createSecretKey(Buffer.from(input))
  } else {
    fail(option, 'must be 32 bytes: a Buffer, a base64url string or a secret KeyObject')
  }
  if (key.symmetricKeySize !== 32) {
    fail(
      option,
      `must be 32 bytes (A256GCM), got ${key.symmetricKeySize ?? 0}; make one with randomBytes(32)`,
    )
  }
  return key
}

/** Validates `sessionSecrets`: undefined, or at least one 32-byte key with a unique `kid`. */
export function resolveSessionSecrets(value: unknown): SessionSecrets | undefined {
  if (value === undefined) return undefined
  const keys = (value as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0) {
    fail('sessionSecrets.keys', 'must list at least one { kid, key } (32 random bytes)')
  }
  const byKid = new Map<string, KeyObject>()
  for (const [index, entry] of (keys as unknown[]).entries()) {
    const option = `sessionSecrets.keys[${index}]`
    const { kid, key } = (entry ?? {}) as { kid?: unknown; key?: unknown }
    if (typeof kid !== 'string' || kid === '') fail(`${option}.kid`, 'must be a non-empty string')
    if (byKid.has(kid)) fail(`${option}.kid`, `"${kid}" is listed twice`)
    byKid.set(kid, secretKey(`${option}.key`, key))
  }
  const [kid, key] = [...byKid][0] as [string, KeyObject]
  return Object.freeze({ current: Object.freeze({ kid, key }), byKid })
}
