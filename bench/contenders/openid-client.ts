/**
 * openid-client 6: `buildAuthorizationUrlWithJAR` in an Express route, the three values in
 * express-session, the key pre-imported as a CryptoKey (so no key import per request).
 */
import type { RequestHandler } from 'express'
import * as client from 'openid-client'
import { cryptoKeyOf, route, type RouteContext } from './context.js'

/** openid-client 6: `buildAuthorizationUrlWithJAR` in a route, the three values in the session. */
export async function openidClientLogin(ctx: RouteContext): Promise<RequestHandler> {
  const key = await cryptoKeyOf(ctx)
  const config = await client.discovery(
    new URL(ctx.issuer),
    ctx.clientId,
    undefined,
    client.None(),
    {
      execute: [client.allowInsecureRequests],
    },
  )
  const signingKey = { key, kid: ctx.privateJwk.kid }
  return route(async (req, res) => {
    const codeVerifier = client.randomPKCECodeVerifier()
    const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier)
    const state = client.randomState()
    const nonce = client.randomNonce()
    req.session.pending = { state, nonce, codeVerifier }
    const url = await client.buildAuthorizationUrlWithJAR(
      config,
      {
        redirect_uri: ctx.redirectUri,
        scope: 'openid',
        response_type: 'code',
        response_mode: 'jwt',
        state,
        nonce,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      },
      signingKey,
    )
    res.redirect(303, url.href)
  })
}
