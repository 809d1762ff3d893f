/**
 * Cross-site request forgery protection for the routes that change something (create a consent,
 * start a login from a POST, log out): the request must come from a page of this origin.
 *
 * The browser says where a request comes from: `Sec-Fetch-Site` (Fetch Metadata, sent by every
 * current browser) must be `same-origin`; a browser that does not send it sends `Origin` with a
 * POST, which must then be this origin. A request with neither is refused too. No token to plant
 * in every form and no dependency: the browser, not the page, vouches for the origin, and a form
 * on another site cannot set either header.
 *
 * Never put this in front of the callback: a `form_post.jwt` response is a cross-site POST by
 * design, and the library checks it (signature, `state`, single use).
 *
 * @see https://www.w3.org/TR/fetch-metadata/ ; OWASP CSRF Prevention Cheat Sheet (Fetch Metadata)
 */
import type { IncomingMessage } from 'node:http'

/** Whether a state-changing request comes from a page of `origin` (e.g. `https://app.example`). */
export function isSameOrigin(req: IncomingMessage, origin: string): boolean {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) return site === 'same-origin'
  return req.headers.origin === new URL(origin).origin
}
