/**
 * The two relay pages of the callback: small same-origin pages that post an authorization response
 * back to the callback, so that it arrives in a request that carries the session cookie.
 *
 * - `form_post.jwt`: the server's form arrives as a cross-site POST, which browsers send without
 *   `SameSite=Lax` cookies (and, in Chromium, without default cookies older than two minutes).
 *   When such a POST finds no pending login for the response's `state`, the callback answers once
 *   with a page that posts the same `response` again, from this origin, with {@link RELAY_FIELD}
 *   set so that it is never relayed twice.
 * - `fragment.jwt`: the fragment never reaches the server; a page reads it, removes it from the
 *   history and posts its parameters to the callback.
 *
 * Both pages run one fixed script allowed by its hash under a strict Content-Security-Policy, put
 * every value through HTML escaping, are not cached and send no `Referer`.
 *
 * @module
 * @see JARM §4.3; RFC 9700 §4.2 (leaks through Referer and history)
 */
import { createHash } from 'node:crypto'
import type { Config } from '../../config/index.js'
import { RELAY_FIELD } from './delivery.js'
import { escapeHtml, type Page } from './page.js'

const FORM_ID = 'fapi-relay'

/** A fixed inline script and its CSP hash source. */
interface InlineScript {
  readonly text: string
  readonly source: string
}

function inlineScript(text: string): InlineScript {
  return { text, source: `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'` }
}

/** Submits the form as it is. `HTMLFormElement.prototype.submit`: no field can shadow `submit`. */
const FORM_POST_SCRIPT = inlineScript(
  `HTMLFormElement.prototype.submit.call(document.getElementById('${FORM_ID}'))`,
)

/** Moves the fragment's parameters into the form, drops the fragment from history, submits. */
const FRAGMENT_SCRIPT = inlineScript(`(() => {
  const form = document.getElementById('${FORM_ID}')
  const params = new URLSearchParams(location.hash.slice(1))
  history.replaceState(null, '', location.pathname + location.search)
  for (const [name, value] of params) {
    const input = document.createElement('input')
    input.type = 'hidden'
    input.name = name
    input.value = value
    form.appendChild(input)
  }
  HTMLFormElement.prototype.submit.call(form)
})()`)

/** The form action: the redirect URI's path and query, so the POST stays on this origin. */
function relayAction(config: Config): string {
  const url = new URL(config.redirectUri)
  return `${url.pathname}${url.search}`
}

function relayPage(page: {
  action: string
  fields: string
  script: InlineScript
  noscript: string
}): Page {
  // No form-action: after the POST the callback (or the app's handler) may redirect to another
  // origin, which Chromium checks against form-action too. The page has no injection point.
  return {
    status: 200,
    headers: {
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': `default-src 'none'; script-src ${page.script.source}; base-uri 'none'; frame-ancestors 'none'`,
      'Content-Type': 'text/html; charset=utf-8',
    },
    body:
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing in…</title></head><body>' +
      `<form id="${FORM_ID}" method="post" action="${escapeHtml(page.action)}">${page.fields}` +
      `<noscript><p>${page.noscript}</p></noscript></form>` +
      `<script>${page.script.text}</script></body></html>`,
  }
}

/**
 * Whether a form-posted response should be relayed: it is a POST (a top-level GET carries
 * `SameSite=Lax` cookies, so a relay cannot help a `query.jwt` response that found no pending
 * login: that one is `ERR_TRANSACTION_NOT_FOUND` at once), the browser says it comes from another
 * site (`Sec-Fetch-Site: cross-site`), it is not a relayed POST already, and the session has no
 * pending login for its `state` (the session cookie did not come with it). Anything else is
 * handled at once: a replay with the cookie fails as it would without the relay.
 */
export function needsFormPostRelay(
  method: 'GET' | 'POST',
  secFetchSite: string | undefined,
  relayed: boolean,
  hasPending: boolean,
): boolean {
  return method === 'POST' && !relayed && secFetchSite === 'cross-site' && !hasPending
}

/** The page that posts a cross-site form POST's `response` again from this origin. */
export function formPostRelayPage(config: Config, response: string): Page {
  return relayPage({
    action: relayAction(config),
    fields:
      `<input type="hidden" name="response" value="${escapeHtml(response)}">` +
      `<input type="hidden" name="${RELAY_FIELD}" value="1">`,
    script: FORM_POST_SCRIPT,
    noscript: 'JavaScript is off: press Continue to finish signing in. <button>Continue</button>',
  })
}

/** The page that posts a `fragment.jwt` response's fragment parameters. */
export function fragmentRelayPage(config: Config): Page {
  return relayPage({
    action: relayAction(config),
    fields: '',
    script: FRAGMENT_SCRIPT,
    noscript:
      'Signing in needs JavaScript here: the answer of the sign-in server is in the part of the address after “#”, which only a script can read.',
  })
}
