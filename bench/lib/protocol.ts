/**
 * What the parent and the children of the bench tell each other: the shapes of the commands'
 * arguments and results, shared so that both ends agree.
 */
import type { Alg, PrivateJwk } from './jwt-node.js'

/**
 * The relying-party contenders, in the order each round measures them (a ratio's two sides
 * next to each other). `login-*` serve only a login; `cb-*` a login and a callback. The `-b`
 * ones run a patched copy of express-fapi's sources (`--compare DIR`), or the same sources made
 * slower on purpose (`--slow PCT`), to measure a change. `login-fapi-signer` is `login-fapi` with
 * the same key behind an in-process async external signer. `auth-*` serve a page behind a login: the
 * request every logged-in user makes, over and over.
 */
export const CONTENDERS = [
  'login-nosig',
  'login-node',
  'login-fapi',
  'login-fapi-signer',
  'login-connect',
  'login-fapi-b',
  'login-jose',
  'login-oc',
  'login-eoc',
  'cb-node',
  'cb-fapi',
  'cb-connect',
  'cb-fapi-b',
  'cb-jose',
  'auth-bare',
  'auth-fapi',
  'auth-bare-redis',
  'auth-fapi-redis',
] as const
export type Contender = (typeof CONTENDERS)[number]

export function isCallback(contender: Contender): boolean {
  return contender.startsWith('cb-')
}

export function isAuth(contender: Contender): boolean {
  return contender.startsWith('auth-')
}

export function isPatched(contender: Contender): boolean {
  return contender.endsWith('-b')
}

export const LABELS: Readonly<Record<Contender, string>> = {
  'login-nosig': 'floor: session + redirect, no signature',
  'login-node': 'floor: + crypto.sign (async, cached key)',
  'login-jose': 'floor: + jose SignJWT',
  'login-fapi': 'express-fapi login() (JAR by value)',
  'login-fapi-signer': 'express-fapi login(), external signer (same key)',
  'login-connect': 'express-fapi login() on Connect 3',
  'login-fapi-b': 'express-fapi login(), patched copy',
  'login-oc': 'openid-client 6 buildAuthorizationUrlWithJAR',
  'login-eoc': 'express-openid-connect 3 JAR (CryptoKey)',
  'cb-node': 'floor: crypto.verify/sign + node:http',
  'cb-jose': 'floor: jose verify/sign + fetch',
  'cb-fapi': 'express-fapi callback()',
  'cb-connect': 'express-fapi callback() on Connect 3',
  'cb-fapi-b': 'express-fapi callback(), patched copy',
  'auth-bare': 'floor: express-session route reading the user',
  'auth-fapi': 'express-fapi requiresAuth() + currentLogin()',
  'auth-bare-redis': 'floor: express-session route, sessions on Redis',
  'auth-fapi-redis': 'express-fapi page, sessions and grants on Redis',
}

/** Contenders whose sessions (and grants) live on a redis-server the bench starts. */
export function onRedis(contender: Contender): boolean {
  return contender.endsWith('-redis')
}

/** `start` command of a relying-party server. */
export interface RpStart {
  readonly contender: Contender
  readonly alg: Alg
  readonly issuer: string
  readonly clientId: string
  readonly privateJwk: PrivateJwk
  /** Directory of express-fapi's sources to load (`src` of the repo, or a patched copy). */
  readonly fapiSrc: string
  /** The redis-server of the `-redis` contenders. */
  readonly redisUrl?: string
}

/** What a started relying-party server reports. */
export interface RpStarted {
  readonly origin: string
  readonly loginPath: string
  readonly callbackPath: string | null
  /** The page behind a login (`auth-*` contenders), else null. */
  readonly resourcePath: string | null
}

/** A CPU and clock sample inside a child. */
export interface CpuSample {
  /** Microseconds of user + system CPU of the whole process (all threads). */
  readonly cpuUs: number
  /** `process.hrtime` in microseconds (the clock of `--cpu-prof` profiles). */
  readonly hrUs: number
  /** The main thread alone (Linux schedstat): microseconds on a CPU, and runnable but waiting. */
  readonly mainUs: number
  readonly mainWaitUs: number
  /** Calls into the session stores of the process so far, by method. */
  readonly storeCalls: StoreCalls
}

/** The session store methods express-session calls, counted by a wrapper around the store. */
export const STORE_METHODS = ['get', 'set', 'destroy', 'touch'] as const
export type StoreCalls = Record<(typeof STORE_METHODS)[number], number>

/** One pending login to mint an authorization response for. */
export interface MintItem {
  readonly state: string
  readonly nonce: string
  readonly codeChallenge: string
  readonly redirectUri: string
  readonly clientId: string
  readonly alg: Alg
}

/** Requests per path seen by the authorization server. */
export type PathCounts = Record<string, number>

export function countsDelta(before: PathCounts, after: PathCounts): PathCounts {
  const delta: PathCounts = {}
  for (const [path, count] of Object.entries(after)) {
    const d = count - (before[path] ?? 0)
    if (d !== 0) delta[path] = d
  }
  return delta
}

export const DISCOVERY_PATH = '/.well-known/openid-configuration'
export const JWKS_PATH = '/jwks'
export const TOKEN_PATH = '/token'
export const AUTHORIZE_PATH = '/authorize'
