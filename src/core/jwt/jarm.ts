/**
 * JARM response validation (JWT Secured Authorization Response Mode, §4.4): the JWT is checked
 * before any parameter inside it is used; only then are `state`, `code` and `error` read.
 *
 * @module
 */
import { AuthorizationResponseError, printable } from '../../errors.js'
import type { EncryptionKey } from '../../config/encryption-keys.js'
import { decryptJwe, isCompactJwe } from './encryption.js'
import { verifyJws, type ServerJwtContext } from './jws.js'

/** Longest `response` value looked at; a signed (or signed and encrypted) JARM JWT is far smaller. */
export const MAX_RESPONSE_LENGTH = 16_384

/** Decryption of nested (signed, then encrypted) JWTs: the client's keys, and whether it must be. */
export interface Decryption {
  readonly keys: readonly EncryptionKey[]
  /** The client registered encryption: an unencrypted JWT is refused. */
  readonly required: boolean
}

/** The parameters of a verified authorization response. */
export type AuthorizationResponse =
  | { readonly state: string; readonly code: string; readonly error?: undefined }
  | {
      readonly state: string
      readonly code?: undefined
      readonly error: string
      readonly errorDescription: string | undefined
    }

function invalid(message: string): AuthorizationResponseError {
  return new AuthorizationResponseError('ERR_JARM_CLAIMS_INVALID', `JARM response: ${message}`)
}

/**
 * Verifies a JARM `response` value (JARM §4.4 (1)–(5)): a nested JWE is decrypted with the
 * client key named by `kid` (and refused without keys; a plain JWT is refused where encryption was
 * registered), then the signature and claims by {@link verifyJws}, then the authorization
 * response parameters inside: `state`, and `code` or `error`.
 */
export async function verifyJarmResponse(
  response: string,
  expect: ServerJwtContext & { readonly decryption: Decryption },
): Promise<AuthorizationResponse> {
  if (response.length > MAX_RESPONSE_LENGTH) {
    throw new AuthorizationResponseError('ERR_JARM_MALFORMED', 'JARM response: too long')
  }
  let jws = response
  if (isCompactJwe(response)) {
    if (expect.decryption.keys.length === 0) {
      throw new AuthorizationResponseError(
        'ERR_JARM_ENCRYPTED',
        'JARM response: encrypted, but this client has no encryption key (keys.encryption)',
      )
    }
    jws = await decryptJwe(response, {
      kind: 'JARM',
      label: 'JARM response',
      keys: expect.decryption.keys,
    })
  } else if (expect.decryption.required) {
    throw new AuthorizationResponseError(
      'ERR_JARM_NOT_ENCRYPTED',
      'JARM response: not encrypted, but encryption.authorizationResponse is on',
    )
  }
  const { payload } = await verifyJws(jws, {
    kind: 'JARM',
    ...expect,
    requiredClaims: ['iss', 'aud', 'exp'],
  })
  const { state, code, error } = payload
  if (typeof state !== 'string' || state === '') throw invalid('"state" is missing')
  if (error !== undefined) {
    if (typeof error !== 'string' || error === '') throw invalid('"error" is not a string')
    const description = payload.error_description
    return {
      state,
      error: printable(error, 64),
      errorDescription: typeof description === 'string' ? printable(description) : undefined,
    }
  }
  if (typeof code !== 'string' || code === '') throw invalid('"code" is missing')
  return { state, code }
}
