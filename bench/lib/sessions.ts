/**
 * Bytes of session data: the JSON express-session's store keeps for a session with one pending
 * login, what a second pending login adds, and what a logged-in session keeps; plus the bytes of
 * Set-Cookie a login answers with (express-openid-connect keeps its transaction in a cookie).
 */
import { decodePayload } from './jwt-node.js'
import { callbacks, type AuthorizationServer, type RelyingParty } from './driver.js'
import { cookieOf, sessionIdOf, type BenchResponse } from './load.js'
import type { Alg } from './jwt-node.js'

export interface SessionSizes {
  /** Whole session JSON with one pending login (express-session's `cookie` member included). */
  readonly pendingSession: number
  /** The pending login's own entry (express-fapi: `fapi.transactions[state]`; floor: `pending`). */
  readonly pendingEntry: number
  /** What one more pending login (another tab) adds to the session JSON. */
  readonly perExtraPending: number
  /** Whole session JSON after the callback. */
  readonly loggedInSession: number
  /** The login's own entry (express-fapi: `fapi.login`; floor: `user`). */
  readonly loggedInEntry: number
  /** Bytes of Set-Cookie headers the login answered with. */
  readonly loginSetCookieBytes: number
}

function sessionCookie(rp: RelyingParty, response: BenchResponse): string {
  const cookie = cookieOf(response, 'connect.sid')
  if (cookie === undefined) throw new Error(`${rp.contender}: no session cookie`)
  return cookie
}

async function sessionJson(rp: RelyingParty, cookie: string): Promise<string> {
  const json = await rp.child.call<string | null>('session', {
    origin: rp.started.origin,
    sid: sessionIdOf(cookie),
  })
  if (json === null) throw new Error(`${rp.contender}: session not in the store`)
  return json
}

export function setCookieBytes(response: BenchResponse): number {
  return response.setCookie.reduce((sum, line) => sum + Buffer.byteLength(line), 0)
}

function entrySize(session: Record<string, unknown>, path: readonly string[]): number {
  let value: unknown = session
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key]
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value))
}

/** Measures on a contender with a login and a callback (express-fapi or a floor). */
export async function measureSessions(
  rp: RelyingParty,
  as: AuthorizationServer,
  mint: { alg: Alg; clientId: string },
): Promise<SessionSizes> {
  const fapi = rp.contender === 'cb-fapi'
  const login = rp.started.loginPath
  const first = await rp.load.get({ path: login })
  const state = String(
    decodePayload(new URL(first.location).searchParams.get('request') ?? '').state,
  )
  const cookie = sessionCookie(rp, first)
  const one = await sessionJson(rp, cookie)
  await rp.load.get({ path: login, cookie })
  const two = await sessionJson(rp, cookie)

  const fresh = await rp.load.get({ path: login })
  const claims = decodePayload(new URL(fresh.location).searchParams.get('request') ?? '')
  const [response] = await as.child.call<string[]>('mint', [
    {
      state: String(claims.state),
      nonce: String(claims.nonce),
      codeChallenge: String(claims.code_challenge),
      redirectUri: String(claims.redirect_uri),
      ...mint,
    },
  ])
  const done = await callbacks(
    rp,
    [
      {
        path: `${rp.started.callbackPath ?? ''}?response=${response ?? ''}`,
        cookie: sessionCookie(rp, fresh),
      },
    ],
    1,
  )
  const loggedIn = await sessionJson(rp, sessionCookie(rp, done.responses[0]!))
  const pendingParsed = JSON.parse(one) as Record<string, unknown>
  const loggedInParsed = JSON.parse(loggedIn) as Record<string, unknown>
  return {
    pendingSession: Buffer.byteLength(one),
    pendingEntry: entrySize(pendingParsed, fapi ? ['fapi', 'transactions', state] : ['pending']),
    perExtraPending: Buffer.byteLength(two) - Buffer.byteLength(one),
    loggedInSession: Buffer.byteLength(loggedIn),
    loggedInEntry: entrySize(loggedInParsed, fapi ? ['fapi', 'login'] : ['user']),
    loginSetCookieBytes: setCookieBytes(first),
  }
}
