/**
 * A scripted user of the example (`npm start`): the test UserAgent's cookie jar and manual
 * redirects, and just enough of the example banks' own pages (sign-in, consent, sign-out) to go
 * through them. A POST to the portal carries the portal's `Origin`, as a browser's form post from
 * a portal page does (the portal refuses state-changing requests from other sites).
 */
import { UserAgent, decodeHtmlEntities } from './user-agent.js'

/** Where a walk ended: the first page that is not a redirect and not a bank page to fill in. */
export interface Landed {
  readonly url: string
  readonly status: number
  readonly html: string
}

const MAX_HOPS = 30

function formFields(html: string, action: RegExp): { action: string; fields: URLSearchParams } {
  for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const target = /\baction="([^"]*)"/i.exec(form[1] ?? '')?.[1]
    if (target === undefined || !action.test(decodeHtmlEntities(target))) continue
    const fields = new URLSearchParams()
    for (const input of (form[2] ?? '').matchAll(/<input\b([^>]*?)\/?>/gi)) {
      const name = /\bname="([^"]*)"/i.exec(input[1] ?? '')?.[1]
      const value = /\bvalue="([^"]*)"/i.exec(input[1] ?? '')?.[1] ?? ''
      if (name !== undefined) fields.set(name, decodeHtmlEntities(value))
    }
    return { action: decodeHtmlEntities(target), fields }
  }
  throw new Error(`no form with an action like ${String(action)}`)
}

export class ExampleUser {
  readonly agent: UserAgent
  readonly #banks: readonly string[]

  /** `portalUrl`: the origin whose POSTs get its `Origin`; `banks`: the banks' issuers. */
  constructor(
    portalUrl: string,
    banks: readonly string[],
    readonly login = 'alice',
  ) {
    this.#banks = banks.map((bank) => new URL(bank).origin)
    const portal = new URL(portalUrl).origin
    this.agent = new UserAgent({
      fetch: (input, init = {}) => {
        const target = new URL(input instanceof Request ? input.url : input)
        if (init.method !== 'POST' || target.origin !== portal) return fetch(input, init)
        const headers = new Headers(init.headers)
        headers.set('origin', portal)
        return fetch(input, { ...init, headers })
      },
    })
  }

  /**
   * Requests `url` and follows redirects; at a bank's sign-in page signs in (password `demo`), at
   * its consent page allows. Stops at any other page.
   */
  async go(url: string, init: { method?: 'GET' | 'POST'; body?: URLSearchParams } = {}) {
    let next: { url: string; method: 'GET' | 'POST'; body?: URLSearchParams } = {
      url,
      method: init.method ?? 'GET',
      ...(init.body === undefined ? {} : { body: init.body }),
    }
    for (let hop = 0; hop < MAX_HOPS; hop += 1) {
      const response = await this.agent.fetch(
        next.url,
        next.body === undefined
          ? { method: next.method }
          : { method: next.method, body: next.body },
      )
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel()
        next = { url: new URL(location, next.url).href, method: 'GET' }
        continue
      }
      const html = await response.text()
      const origin = new URL(next.url).origin
      if (this.#banks.includes(origin) && response.status === 200) {
        if (/<form\b[^>]*action="\/interaction\/[^"/]+\/login"/.test(html)) {
          const { action } = formFields(html, /\/login$/)
          next = {
            url: new URL(action, origin).href,
            method: 'POST',
            body: new URLSearchParams({ login: this.login, password: 'demo' }),
          }
          continue
        }
        if (/<form\b[^>]*action="\/interaction\/[^"/]+\/confirm"/.test(html)) {
          const { action } = formFields(html, /\/confirm$/)
          next = { url: new URL(action, origin).href, method: 'POST', body: new URLSearchParams() }
          continue
        }
      }
      return { url: next.url, status: response.status, html } satisfies Landed
    }
    throw new Error(`more than ${String(MAX_HOPS)} hops from ${url}`)
  }

  /** At a bank: signs out there ("Yes, sign me out" on its end_session page). */
  async signOutAtBank(issuer: string): Promise<Landed> {
    const page = await this.go(`${issuer}/session/end`)
    const { action, fields } = formFields(page.html, /\/session\/end\/confirm$/)
    fields.set('logout', 'yes')
    return this.go(new URL(action, issuer).href, { method: 'POST', body: fields })
  }
}
