/**
 * A test directory of an open-finance ecosystem: a key generated per run that signs software
 * statements (SSAs), and the check a bank runs on the SSA of a registration request (as Brazil's
 * and the UK's rules have it): signed by the directory, less than 5 minutes old, `redirect_uris`
 * within the SSA's `software_redirect_uris`, `jwks_uri` equal to its `software_jwks_uri` when the
 * SSA names one. The check throws oidc-provider's `invalid_software_statement`.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT, UnsecuredJWT, importJWK, jwtVerify } from 'jose'
import { generateJwks, type KeyPairJwks } from './keys.js'

export const DIRECTORY_ISSUER = 'test-directory'

export interface SsaClaims {
  readonly redirectUris: readonly string[]
  readonly jwksUri?: string
  /** Seconds to add to now for `iat` (negative: an old SSA). */
  readonly age?: number
}

export interface Directory {
  readonly key: KeyPairJwks
  /** An SSA signed by the directory (or by `key`, or unsigned with `alg: none`). */
  sign(claims: SsaClaims, options?: { key?: KeyPairJwks; unsigned?: boolean }): Promise<string>
  /** oidc-provider's registration policy checking the SSA of a request. */
  policy(errors: {
    InvalidSoftwareStatement: new (description: string) => Error
  }): (ctx: unknown, properties: Record<string, unknown>) => Promise<void>
}

export async function testDirectory(): Promise<Directory> {
  const key = await generateJwks('ES256', 'directory-key')
  const publicKey = await importJWK(key.publicJwk, 'ES256')
  return {
    key,
    async sign(claims, options = {}) {
      const iat = Math.floor(Date.now() / 1000) + (claims.age ?? 0)
      const payload = {
        software_id: 'aggregator-app',
        software_redirect_uris: [...claims.redirectUris],
        ...(claims.jwksUri === undefined ? {} : { software_jwks_uri: claims.jwksUri }),
      }
      if (options.unsigned === true) {
        return new UnsecuredJWT(payload).setIssuer(DIRECTORY_ISSUER).setIssuedAt(iat).encode()
      }
      const signer = options.key ?? key
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', kid: signer.privateJwk.kid, typ: 'JWT' })
        .setIssuer(DIRECTORY_ISSUER)
        .setIssuedAt(iat)
        .setJti(randomUUID())
        .sign(await importJWK(signer.privateJwk, 'ES256'))
    },
    policy(errors) {
      return async (_ctx, properties) => {
        const ssa = properties.software_statement
        if (typeof ssa !== 'string') {
          throw new errors.InvalidSoftwareStatement('software_statement is required')
        }
        let claims: Record<string, unknown>
        try {
          ;({ payload: claims } = await jwtVerify(ssa, publicKey, {
            issuer: DIRECTORY_ISSUER,
            algorithms: ['ES256'],
            maxTokenAge: '5m',
          }))
        } catch (error) {
          throw new errors.InvalidSoftwareStatement(
            `the software statement does not verify (${(error as { code?: string }).code ?? 'error'})`,
          )
        }
        const allowed = claims.software_redirect_uris
        const asked = properties.redirect_uris
        if (
          !Array.isArray(allowed) ||
          !Array.isArray(asked) ||
          !asked.every((uri) => allowed.includes(uri))
        ) {
          throw new errors.InvalidSoftwareStatement('redirect_uris outside the software statement')
        }
        if (
          claims.software_jwks_uri !== undefined &&
          properties.jwks_uri !== claims.software_jwks_uri
        ) {
          throw new errors.InvalidSoftwareStatement('jwks_uri is not the software_jwks_uri')
        }
        delete properties.software_statement
      }
    },
  }
}
