/**
 * The part of oidc-provider's API that the example authorization server uses (the package ships
 * no TypeScript declarations).
 */
declare module 'oidc-provider' {
  import type { EventEmitter } from 'node:events'
  import type { IncomingMessage, ServerResponse } from 'node:http'

  /** A pending interaction (login or consent) of an authorization request. */
  export interface InteractionDetails {
    readonly uid: string
    readonly prompt: {
      readonly name: string
      readonly details: {
        readonly missingOIDCScope?: readonly string[]
        readonly missingOIDCClaims?: readonly string[]
        readonly missingResourceScopes?: Readonly<Record<string, readonly string[]>>
        /** The `authorization_details` asked for (RFC 9396), with `richAuthorizationRequests`. */
        readonly rar?: readonly Readonly<Record<string, unknown>>[]
      }
    }
    readonly params: Readonly<Record<string, unknown>>
    readonly session?: { readonly accountId: string }
    readonly grantId?: string
  }

  /** What the application decided in an interaction. */
  export type InteractionResults =
    | { login: { accountId: string } }
    | { consent: { grantId: string } }
    | { error: string; error_description?: string }

  export interface Grant {
    addOIDCScope(scope: string): void
    addOIDCClaims(claims: readonly string[]): void
    addResourceScope(indicator: string, scope: string): void
    addRar(detail: Readonly<Record<string, unknown>>): void
    save(): Promise<string>
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant
    find(id: string): Promise<Grant | undefined>
  }

  /** A client credentials access token (RFC 6749 §4.4), as stored by the provider. */
  export interface ClientCredentialsToken {
    readonly clientId: string
    readonly scope?: string
    readonly aud?: string | readonly string[]
    /** The DPoP key's thumbprint (RFC 9449 §6), when the token is bound to one. */
    readonly jkt?: string
    readonly 'x5t#S256'?: string
    readonly isExpired: boolean
  }

  /** A registration's initial access token (RFC 7591 §3), carrying registration policies. */
  export interface InitialAccessToken {
    save(): Promise<string>
    destroy(): Promise<void>
  }

  /** The client as the provider's events pass it. */
  export interface Client {
    readonly clientId: string
    readonly jwksUri?: string
    readonly backchannelLogoutUri?: string
  }

  /** The errors a registration policy throws (RFC 7591 §3.2.2). */
  export const errors: {
    readonly InvalidSoftwareStatement: new (description: string) => Error
  }

  export default class Provider extends EventEmitter {
    readonly ClientCredentials: {
      find(value: string): Promise<ClientCredentialsToken | undefined>
    }
    readonly InitialAccessToken: new (properties: {
      policies: string[]
      expiresIn?: number
    }) => InitialAccessToken
    constructor(issuer: string, configuration: object)
    readonly issuer: string
    readonly Grant: GrantConstructor
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>
  }
}
