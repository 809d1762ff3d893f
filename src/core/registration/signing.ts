/**
 * The client's signing key as registration sees it: the key the client's request objects and
 * client assertions are signed with (an active key whose algorithm the server accepts for both),
 * chosen at signing time like theirs, so that the algorithms registered are the ones used and a
 * signed registration request (`application/jose`) goes through the same signing path: a key in
 * the process or an external signer (an HSM, a KMS) alike.
 *
 * @module
 */
import type { Config } from '../../config/index.js'
import { fapiError } from '../../errors.js'
import { acceptedKeySource, type SigningKeySource } from '../jwt/sign.js'

/** The algorithms of `name` the profile allows; every allowed one when the server lists none. */
function accepted(config: Config, server: Readonly<Record<string, unknown>>, name: string) {
  const listed = server[name]
  if (!Array.isArray(listed)) return config.allowedAlgorithms
  return config.allowedAlgorithms.filter((alg) => listed.includes(alg))
}

/**
 * The client's signing key for registration, given the server's metadata: an active key whose
 * algorithm the server accepts for request objects (when the client signs them) and client
 * assertions (under `private_key_jwt`).
 */
export function registrationSigningKey(
  config: Config,
  server: Readonly<Record<string, unknown>>,
): SigningKeySource {
  const lists: (readonly string[])[] = []
  if (config.requestObject) {
    lists.push(accepted(config, server, 'request_object_signing_alg_values_supported'))
  }
  if (config.clientAuthMethod === 'private_key_jwt') {
    lists.push(accepted(config, server, 'token_endpoint_auth_signing_alg_values_supported'))
  }
  return acceptedKeySource(config, lists, () =>
    fapiError(
      'ERR_SIGNING_KEY_UNAVAILABLE',
      `registration: no active signing key in keys.signing uses an algorithm the server at "${config.issuer}" accepts`,
    ),
  )
}
