/**
 * The client's key set, which may change while the process runs (key rotation): the signing keys
 * with their states, and the encryption keys. A change is checked as fully as the keys given at
 * startup, and replaces the whole set at once, or not at all.
 *
 * @module
 */
import type { JWK } from 'jose'
import type { EncryptionKey } from './encryption-keys.js'
import type { SigningKey } from './keys.js'
import type { FapiClientOptions } from './options.js'

/** The keys as given in the options (`keys`). */
export type KeysInput = FapiClientOptions['keys']

/** Imports and checks a key set; throws a `FapiConfigError` on any mistake. */
export type KeyImporter = (keys: KeysInput) => {
  signingKeys: readonly SigningKey[]
  encryptionKeys: readonly EncryptionKey[]
}

/** The client's current keys. Internal. */
export class KeyRing {
  readonly #import: KeyImporter
  #signing: readonly SigningKey[]
  #encryption: readonly EncryptionKey[]

  constructor(keys: KeysInput, importer: KeyImporter) {
    this.#import = importer
    const imported = importer(keys)
    this.#signing = Object.freeze([...imported.signingKeys])
    this.#encryption = Object.freeze([...imported.encryptionKeys])
  }

  /** Every signing key, in the order given, with its state. */
  get signingKeys(): readonly SigningKey[] {
    return this.#signing
  }

  /** Every encryption key: all of them decrypt, whatever their state. */
  get encryptionKeys(): readonly EncryptionKey[] {
    return this.#encryption
  }

  /** The public halves to publish: every listed key (`active`, `next` and `retiring`). */
  published(): readonly Readonly<JWK>[] {
    return [
      ...this.#signing.map((key) => key.publicJwk),
      ...this.#encryption.map((key) => key.publicJwk),
    ]
  }

  /**
   * Replaces the key set: checked first like the startup keys (a mistake throws and keeps the
   * current set), then swapped at once. JWTs signed from then on use the new active key.
   *
   * @throws {FapiConfigError}
   */
  update(keys: KeysInput): void {
    const imported = this.#import(keys)
    this.#signing = Object.freeze([...imported.signingKeys])
    this.#encryption = Object.freeze([...imported.encryptionKeys])
  }
}
