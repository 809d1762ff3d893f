/**
 * The example's development directory: in an open-finance ecosystem a directory vouches for each
 * app with a software statement (a JWT it signs, RFC 7591 §2.3), and every bank checks it before
 * registering the app. Here the directory is one ES256 key, made at first start and kept in a
 * git-ignored folder (`examples/authorization-server/.data/directory/` by default) beside the
 * banks' keys; both banks trust it. `npm run example:ssa` prints a statement for your own app.
 *
 * A bank's check (as open-finance directories have it): signed by the directory, not expired, at
 * most a day old (real directories issue statements for minutes: `fapiRegistration()` asks for a
 * fresh one at each registration), `redirect_uris` among the statement's
 * `software_redirect_uris`, and `jwks_uri` equal to its `software_jwks_uri` when it names one.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK } from 'jose'
import { loadOrCreateSecrets } from '../shared/secrets-file.js'

/** The `iss` of the directory's statements. */
export const DIRECTORY_ISSUER = 'example-directory'

/** How long a statement printed for a developer is valid. */
const STATEMENT_LIFETIME = '1d'

interface DirectorySecrets {
  /** The directory's private ES256 key. */
  readonly signingKey: JWK & { kid: string }
}

function isSecrets(value: unknown): value is DirectorySecrets {
  if (typeof value !== 'object' || value === null) return false
  const key = (value as { signingKey?: unknown }).signingKey
  return (
    typeof key === 'object' &&
    key !== null &&
    typeof (key as JWK).kid === 'string' &&
    typeof (key as JWK).d === 'string'
  )
}

/** What a software statement says of an app. */
export interface StatementClaims {
  /** The app's callback URLs: a registration may ask for these only. */
  readonly redirectUris: readonly string[]
  /** The app's `jwks_uri`, when it publishes its keys (else its keys go by value). */
  readonly jwksUri?: string
  /** Default `local-app`. */
  readonly softwareId?: string
}

export interface Directory {
  /** A software statement for an app, signed by the directory, valid for a day. */
  sign(claims: StatementClaims): Promise<string>
  /**
   * oidc-provider's registration policy: checks the request's `software_statement` and throws
   * `invalid_software_statement` when it does not pass.
   */
  policy(errors: {
    InvalidSoftwareStatement: new (description: string) => Error
  }): (ctx: unknown, properties: Record<string, unknown>) => Promise<void>
}

/** Reads the directory's key from `dir`, or makes it at first start. */
export async function loadDirectory(dir: string): Promise<Directory> {
  const { signingKey } = await loadOrCreateSecrets(dir, isSecrets, async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    return { signingKey: { ...(await exportJWK(privateKey)), kid: `directory-${randomUUID()}` } }
  })
  const { d: _d, ...publicJwk } = signingKey
  void _d
  const privateKey = await importJWK(signingKey, 'ES256')
  const publicKey = await importJWK(publicJwk, 'ES256')
  return {
    async sign(claims) {
      return new SignJWT({
        software_id: claims.softwareId ?? 'local-app',
        software_redirect_uris: [...claims.redirectUris],
        ...(claims.jwksUri === undefined ? {} : { software_jwks_uri: claims.jwksUri }),
      })
        .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid, typ: 'JWT' })
        .setIssuer(DIRECTORY_ISSUER)
        .setIssuedAt()
        .setExpirationTime(STATEMENT_LIFETIME)
        .setJti(randomUUID())
        .sign(privateKey)
    },
    policy(errors) {
      return async (_ctx, properties) => {
        const statement = properties.software_statement
        if (typeof statement !== 'string') {
          throw new errors.InvalidSoftwareStatement(
            'software_statement is required: ask the directory (npm run example:ssa)',
          )
        }
        let claims: Record<string, unknown>
        try {
          ;({ payload: claims } = await jwtVerify(statement, publicKey, {
            issuer: DIRECTORY_ISSUER,
            algorithms: ['ES256'],
            requiredClaims: ['iat', 'exp'],
            maxTokenAge: STATEMENT_LIFETIME,
          }))
        } catch (error) {
          const code = (error as { code?: unknown }).code
          throw new errors.InvalidSoftwareStatement(
            `the software statement does not verify with the directory's key (${typeof code === 'string' ? code : 'error'})`,
          )
        }
        const allowed = claims.software_redirect_uris
        const asked = properties.redirect_uris
        if (
          !Array.isArray(allowed) ||
          !Array.isArray(asked) ||
          !asked.every((uri) => allowed.includes(uri))
        ) {
          throw new errors.InvalidSoftwareStatement(
            'redirect_uris are not all among the software statement’s software_redirect_uris',
          )
        }
        if (
          claims.software_jwks_uri !== undefined &&
          properties.jwks_uri !== claims.software_jwks_uri
        ) {
          throw new errors.InvalidSoftwareStatement(
            'jwks_uri is not the software statement’s software_jwks_uri',
          )
        }
        // Checked, not kept: the registered client is the metadata, not the statement.
        delete properties.software_statement
      }
    },
  }
}
