/**
 * The client secret (`clientSecret`, profile `oidc` only): held in a private field, so that
 * printing, logging or serialising the configuration never shows it (`util.inspect`, `JSON.stringify`
 * and string conversion all give `[client secret]`). Only client authentication reads it.
 *
 * @module
 */
import { inspect } from 'node:util'

const SHOWN = '[client secret]'

/** A client secret that never prints itself. Internal. */
export class ClientSecret {
  readonly #value: string

  constructor(value: string) {
    this.#value = value
  }

  /** The secret itself, for client authentication only. */
  reveal(): string {
    return this.#value
  }

  toString(): string {
    return SHOWN
  }

  toJSON(): string {
    return SHOWN
  }

  [inspect.custom](): string {
    return SHOWN
  }
}
