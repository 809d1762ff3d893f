/**
 * What every contender route gets: the client's identity and key, the server's metadata as
 * fetched once at startup, and the session data the hand-written routes keep.
 */
import type { KeyObject } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { importJWK, type CryptoKey } from 'jose'
import { publicKeyOf, type Alg, type PrivateJwk } from '../lib/jwt-node.js'

declare module 'express-session' {
  interface SessionData {
    /** The hand-written routes' pending login: the three values. */
    pending?: { state: string; nonce: string; codeVerifier: string }
    /** The hand-written callbacks' logged-in user. */
    user?: {
      claims: Record<string, unknown>
      accessToken: string
      idToken: string
      expiresAt: number | undefined
      scope: string
    }
  }
}

export interface RouteContext {
  readonly alg: Alg
  readonly issuer: string
  readonly clientId: string
  readonly privateJwk: PrivateJwk
  readonly origin: string
  readonly redirectUri: string
  readonly fapiSrc: string
}

/** Discovery metadata, as the hand-written routes use it. */
export interface Metadata {
  readonly authorizationEndpoint: string
  readonly tokenEndpoint: string
  /** The server's verification keys by kid. */
  readonly keys: ReadonlyMap<string, KeyObject>
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
  return (await response.json()) as Record<string, unknown>
}

/** Discovery and JWKS, fetched once at startup (the hand-written routes' warm-up). */
export async function discover(issuer: string): Promise<Metadata> {
  const metadata = await getJson(`${issuer}/.well-known/openid-configuration`)
  const jwks = await getJson(String(metadata.jwks_uri))
  const keys = new Map<string, KeyObject>()
  for (const jwk of jwks.keys as Array<Record<string, unknown>>) {
    if (typeof jwk.kid === 'string') keys.set(jwk.kid, publicKeyOf(jwk))
  }
  return {
    authorizationEndpoint: String(metadata.authorization_endpoint),
    tokenEndpoint: String(metadata.token_endpoint),
    keys,
  }
}

/** An async route whose failures become a short 400 (the bench counts non-redirects). */
export function route(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch((error: unknown) => {
      if (res.headersSent) next(error)
      else
        res
          .status(400)
          .type('text')
          .send(`bench route failed: ${String(error)}`)
    })
  }
}

/** `req.session.regenerate()` as a promise. */
export function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((error?: unknown) => (error ? reject(error) : resolve())),
  )
}

/** The private key as a WebCrypto CryptoKey, imported once (for the WebCrypto-based libraries). */
export async function cryptoKeyOf(ctx: RouteContext): Promise<CryptoKey> {
  const key = await importJWK({ ...ctx.privateJwk }, ctx.alg)
  if (key instanceof Uint8Array) throw new Error('expected an asymmetric key')
  return key
}
