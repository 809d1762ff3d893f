/**
 * A scripted, browser-like user agent for tests: Node's fetch with `redirect: 'manual'`, its own
 * cookie jar, and just enough HTML understanding to drive oidc-provider's built-in (dev) login and
 * consent pages and to pick up a form_post auto-submit page.
 */

export interface CallbackDelivery {
  method: 'GET' | 'POST'
  /** full URL the browser would request at the RP's redirect_uri (for GET: includes query) */
  url: string
  /** for POST (form_post.jwt): the fields of the auto-submitting form */
  body?: URLSearchParams
}

export interface AuthorizeOptions {
  /** The RP's redirect_uri: the flow stops as soon as the browser would go there. */
  redirectUri: string
  /** Account id to sign in as (any value is accepted by the test server). Default: 'alice'. */
  login?: string
  /** Cancel at the consent page instead of granting it. */
  deny?: boolean
}

const MAX_HOPS = 20
const DEFAULT_LOGIN = 'alice'

interface StoredCookie {
  name: string
  value: string
  hostname: string
  path: string
}

/**
 * Cookies per host name (like browsers, ports are not part of a cookie's scope), with Path
 * matching and deletion through Max-Age <= 0 or an Expires date in the past. Other expiry,
 * Domain, Secure and SameSite attributes are ignored: everything here is on http://127.0.0.1.
 */
class CookieJar {
  #cookies: StoredCookie[] = []

  store(url: URL, setCookieHeaders: readonly string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      let path = defaultCookiePath(url.pathname)
      let expired = false
      for (const attribute of attributes) {
        const sep = attribute.indexOf('=')
        const key = (sep === -1 ? attribute : attribute.slice(0, sep)).trim().toLowerCase()
        const attrValue = sep === -1 ? '' : attribute.slice(sep + 1).trim()
        if (key === 'path' && attrValue.startsWith('/')) path = attrValue
        if (key === 'max-age' && Number(attrValue) <= 0) expired = true
        if (key === 'expires' && Date.parse(attrValue) <= Date.now()) expired = true
      }
      this.#cookies = this.#cookies.filter(
        (c) => !(c.name === name && c.hostname === url.hostname && c.path === path),
      )
      if (!expired) this.#cookies.push({ name, value, hostname: url.hostname, path })
    }
  }

  header(url: URL): string | undefined {
    const matching = this.#cookies
      .filter((c) => c.hostname === url.hostname && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
    return matching.length === 0
      ? undefined
      : matching.map((c) => `${c.name}=${c.value}`).join('; ')
  }
}

function defaultCookiePath(requestPath: string): string {
  const lastSlash = requestPath.lastIndexOf('/')
  return lastSlash <= 0 ? '/' : requestPath.slice(0, lastSlash)
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/'
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
}

/** Decodes the HTML character references that appear in attribute values and text. */
export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (match, ref: string) => {
    if (ref.startsWith('#x') || ref.startsWith('#X')) {
      return String.fromCodePoint(Number.parseInt(ref.slice(2), 16))
    }
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10))
    return NAMED_ENTITIES[ref.toLowerCase()] ?? match
  })
}

function parseAttributes(tagContent: string): Map<string, string> {
  const attributes = new Map<string, string>()
  for (const m of tagContent.matchAll(
    /([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g,
  )) {
    const name = m[1]
    if (name === undefined) continue
    attributes.set(name.toLowerCase(), decodeHtmlEntities(m[2] ?? m[3] ?? m[4] ?? ''))
  }
  return attributes
}

interface HtmlForm {
  action: string
  method: string
  /** name/value of every <input> that has a name, in document order */
  inputs: [string, string][]
}

function parseForms(html: string, baseUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = []
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(m[1] ?? '')
    const inputs: [string, string][] = []
    for (const input of (m[2] ?? '').matchAll(/<input\b([^>]*?)\/?>/gi)) {
      const inputAttributes = parseAttributes(input[1] ?? '')
      const name = inputAttributes.get('name')
      if (name !== undefined) inputs.push([name, inputAttributes.get('value') ?? ''])
    }
    forms.push({
      action: new URL(attributes.get('action') ?? baseUrl, baseUrl).href,
      method: (attributes.get('method') ?? 'get').toLowerCase(),
      inputs,
    })
  }
  return forms
}

function findLink(html: string, baseUrl: string, text: RegExp): string | undefined {
  for (const m of html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)) {
    const href = parseAttributes(m[1] ?? '').get('href')
    if (href !== undefined && text.test(decodeHtmlEntities(m[2] ?? ''))) {
      return new URL(href, baseUrl).href
    }
  }
  return undefined
}

/** The visible text of an HTML page (no head, style or script), whitespace collapsed. */
function visibleText(html: string): string {
  return decodeHtmlEntities(
    html
      .replace(/<head\b[\s\S]*?<\/head>/gi, ' ')
      .replace(/<(style|script)\b[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]*>/g, ' '),
  )
    .replace(/\s+/g, ' ')
    .trim()
}

/** True when `url` is the redirect URI itself, possibly with a query and/or fragment. */
function isAtRedirectUri(url: string, redirectUri: string): boolean {
  const target = new URL(url)
  const expected = new URL(redirectUri)
  return (
    target.origin === expected.origin &&
    target.pathname === expected.pathname &&
    (expected.search === '' || target.search.startsWith(expected.search))
  )
}

function unexpected(what: string, url: string, status: number, body: string): Error {
  const text = visibleText(body) || body
  const { origin, pathname } = new URL(url)
  return new Error(
    `UserAgent: ${what} at ${origin}${pathname} (HTTP ${status}): ${JSON.stringify(text.slice(0, 300))}`,
  )
}

export class UserAgent {
  readonly #jar = new CookieJar()
  readonly #fetch: typeof fetch

  /** `fetch`: another implementation, e.g. one that trusts a test CA (`tls-fetch.ts`). */
  constructor(options: { fetch?: typeof fetch } = {}) {
    this.#fetch = options.fetch ?? fetch
  }

  /**
   * One browser request with this user agent's cookies; redirects are NOT followed. Also useful
   * for talking to the RP app with the same cookie jar.
   */
  async fetch(
    url: string,
    init: {
      method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
      body?: URLSearchParams
      /** A JSON body (e.g. a REST login API) instead of a form. */
      json?: unknown
    } = {},
  ): Promise<Response> {
    const target = new URL(url)
    target.hash = ''
    const headers = new Headers({ accept: 'text/html,application/xhtml+xml,*/*;q=0.8' })
    const cookie = this.#jar.header(target)
    if (cookie !== undefined) headers.set('cookie', cookie)
    const requestInit: RequestInit = { method: init.method ?? 'GET', headers, redirect: 'manual' }
    if (init.body !== undefined) {
      headers.set('content-type', 'application/x-www-form-urlencoded')
      requestInit.body = init.body.toString()
    }
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json')
      requestInit.body = JSON.stringify(init.json)
    }
    const response = await this.#fetch(target, requestInit)
    this.#jar.store(target, response.headers.getSetCookie())
    return response
  }

  /** Delivers an authorization response to the RP the way the browser would (same cookie jar). */
  async deliver(delivery: CallbackDelivery): Promise<Response> {
    if (delivery.method === 'POST') {
      return this.fetch(delivery.url, {
        method: 'POST',
        body: delivery.body ?? new URLSearchParams(),
      })
    }
    return this.fetch(delivery.url)
  }

  /**
   * Starts at an authorization URL (what the RP redirected the browser to), signs in as `login`,
   * grants consent (or cancels it when `deny`), and follows redirects until the browser would go
   * to `redirectUri`, or gets an auto-submit form whose action is `redirectUri`. Returns how the
   * browser would deliver the response to the RP; nothing is sent to the RP.
   */
  async authorize(authorizationUrl: string, options: AuthorizeOptions): Promise<CallbackDelivery> {
    const { redirectUri, deny = false } = options
    const login = options.login ?? DEFAULT_LOGIN
    let url = authorizationUrl
    let method: 'GET' | 'POST' = 'GET'
    let body: URLSearchParams | undefined
    let consentSeen = false

    for (let hop = 0; hop < MAX_HOPS; hop++) {
      if (method === 'GET' && isAtRedirectUri(url, redirectUri)) {
        if (deny && !consentSeen) {
          throw new Error(
            `UserAgent: deny was requested but the server never asked for consent; it went straight to ${url}`,
          )
        }
        return { method: 'GET', url }
      }

      const response = await this.fetch(url, body === undefined ? { method } : { method, body })
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel()
        url = new URL(location, url).href
        method = 'GET'
        body = undefined
        continue
      }

      const html = await response.text()
      if (response.status !== 200 && response.status !== 400) {
        throw unexpected('unexpected response', url, response.status, html)
      }
      const forms = parseForms(html, url)

      // form_post / form_post.jwt: an auto-submitting form that targets the redirect URI.
      const callbackForm = forms.find(
        (form) => form.method === 'post' && isAtRedirectUri(form.action, redirectUri),
      )
      if (callbackForm !== undefined) {
        if (deny && !consentSeen) {
          throw new Error(
            'UserAgent: deny was requested but the server never asked for consent; it answered with a form_post to the redirect URI',
          )
        }
        return {
          method: 'POST',
          url: callbackForm.action,
          body: new URLSearchParams(callbackForm.inputs),
        }
      }

      const promptForm = forms.find((form) =>
        form.inputs.some(
          ([name, value]) => name === 'prompt' && (value === 'login' || value === 'consent'),
        ),
      )
      const prompt = promptForm?.inputs.find(([name]) => name === 'prompt')?.[1]
      if (response.status === 200 && promptForm !== undefined && prompt === 'login') {
        url = promptForm.action
        method = 'POST'
        body = new URLSearchParams(promptForm.inputs)
        body.set('login', login)
        body.set('password', 'test-password')
        continue
      }
      if (response.status === 200 && promptForm !== undefined && prompt === 'consent') {
        consentSeen = true
        if (deny) {
          const cancel = findLink(html, url, /cancel/i)
          if (cancel === undefined)
            throw unexpected('no cancel link on the consent page', url, 200, html)
          url = cancel
          method = 'GET'
          body = undefined
        } else {
          url = promptForm.action
          method = 'POST'
          body = new URLSearchParams(promptForm.inputs)
        }
        continue
      }

      throw unexpected(
        response.status === 400
          ? 'the authorization server rejected the request'
          : 'unexpected page',
        url,
        response.status,
        html,
      )
    }
    throw new Error(`UserAgent: gave up after ${MAX_HOPS} hops without reaching ${redirectUri}`)
  }

  /**
   * RP-initiated logout: starts at an end_session URL (what the RP redirected the browser to),
   * confirms "yes, sign me out" on oidc-provider's logout page, and follows redirects. Returns the
   * URL the browser ends up at: the `postLogoutRedirectUri` (with its query, e.g. state) when the
   * flow reaches it, otherwise the URL of the server's final "signed out" page.
   */
  async logout(
    endSessionUrl: string,
    options: { postLogoutRedirectUri?: string } = {},
  ): Promise<string> {
    let url = endSessionUrl
    let method: 'GET' | 'POST' = 'GET'
    let body: URLSearchParams | undefined
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      if (
        method === 'GET' &&
        options.postLogoutRedirectUri !== undefined &&
        isAtRedirectUri(url, options.postLogoutRedirectUri)
      ) {
        return url
      }
      const response = await this.fetch(url, body === undefined ? { method } : { method, body })
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel()
        url = new URL(location, url).href
        method = 'GET'
        body = undefined
        continue
      }
      const html = await response.text()
      if (response.status !== 200) {
        throw unexpected('the logout was rejected', url, response.status, html)
      }
      const confirm = parseForms(html, url).find(
        (form) => form.method === 'post' && form.inputs.some(([name]) => name === 'xsrf'),
      )
      if (confirm === undefined) {
        if (options.postLogoutRedirectUri === undefined) return url
        throw unexpected('no logout confirmation form', url, response.status, html)
      }
      url = confirm.action
      method = 'POST'
      body = new URLSearchParams(confirm.inputs)
      body.set('logout', 'yes')
    }
    throw new Error(`UserAgent: gave up logging out after ${MAX_HOPS} hops`)
  }
}
