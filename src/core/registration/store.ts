/**
 * The registration store: where a dynamic registration (RFC 7591) is kept between restarts and
 * shared by instances, with what manages it (RFC 7592: `registration_access_token`, rotated on
 * use by some servers, and `registration_client_uri`). Three operations keyed by a name the app
 * chooses (the issuer by default), in the style of the coordination store: the in-memory store is
 * the default and serves one process; `redisRegistrations()` serves many.
 *
 * A record holds the client secret and the registration access token: the store is as secret as
 * a key store (Redis with authentication and TLS, not a shared cache).
 *
 * @module
 */

/** One registration at one server. */
export interface Registration {
  /** The issuer the client is registered at. */
  readonly issuer: string
  readonly clientId: string
  /** The secret the server issued (`client_secret_*` methods), if any. */
  readonly clientSecret?: string | undefined
  /** RFC 7592: the bearer token of the management calls (the newest, when the server rotates it). */
  readonly registrationAccessToken?: string | undefined
  readonly registrationClientUri?: string | undefined
  /** What the server registered, without the secret and the access token. */
  readonly metadata: Readonly<Record<string, unknown>>
  /** A digest of the metadata asked for: a change of configuration changes it. */
  readonly fingerprint: string
  /** Milliseconds since the epoch of the last registration or update. */
  readonly updatedAt: number
}

/**
 * Where registrations are kept. Any store with these three methods works; each rejects when it
 * cannot answer.
 */
export interface RegistrationStore {
  get(key: string): Promise<Registration | undefined>
  set(key: string, registration: Registration): Promise<void>
  delete(key: string): Promise<void>
}

/** A store in this process's memory: registrations are lost on restart (each start registers). */
export function memoryRegistrations(): RegistrationStore {
  const records = new Map<string, Registration>()
  return Object.freeze({
    get: (key: string) => Promise.resolve(records.get(key)),
    set: (key: string, registration: Registration) => {
      records.set(key, registration)
      return Promise.resolve()
    },
    delete: (key: string) => {
      records.delete(key)
      return Promise.resolve()
    },
  })
}

/** Narrows a stored value (JSON from another store, possibly another version) to a record. */
export function asRegistration(value: unknown): Registration | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const record = value as Record<string, unknown>
  const optional = (name: string) => record[name] === undefined || typeof record[name] === 'string'
  if (
    typeof record.issuer !== 'string' ||
    typeof record.clientId !== 'string' ||
    typeof record.fingerprint !== 'string' ||
    typeof record.updatedAt !== 'number' ||
    typeof record.metadata !== 'object' ||
    record.metadata === null ||
    !optional('clientSecret') ||
    !optional('registrationAccessToken') ||
    !optional('registrationClientUri')
  ) {
    return undefined
  }
  return record as unknown as Registration
}
