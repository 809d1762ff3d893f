/**
 * The portal's pages, server-rendered with escaped template literals.
 */
import type { ActiveGrant, AuthorizationDetail, FapiEvent, ResponseMode } from '../../src/index.js'
import { html, type SafeHtml } from '../shared/html.js'

/** The response modes the portal offers, all at its one callback, `/auth/callback`. */
export const RESPONSE_MODES: readonly {
  readonly mode: ResponseMode
  readonly description: string
}[] = [
  {
    mode: 'jwt',
    description: "the library's default: for a code, the signed answer comes back in the address",
  },
  {
    mode: 'query.jwt',
    description: 'the signed answer comes back in the address of a redirect (GET)',
  },
  {
    mode: 'form_post.jwt',
    description: 'the sign-in server posts the signed answer in a form (a cross-site POST)',
  },
  {
    mode: 'fragment.jwt',
    description: 'the signed answer comes back after the # of the address, read by a small page',
  },
]

/** The banks the portal links, by their `?server=` names. */
export const BANKS: readonly {
  readonly id: 'bank-a' | 'bank-b'
  readonly name: string
  readonly description: string
}[] = [
  {
    id: 'bank-a',
    name: 'Example Bank A',
    description: 'FAPI 2.0 Message Signing, with payment consents (rich authorization requests)',
  },
  {
    id: 'bank-b',
    name: 'Example Bank B',
    description: 'FAPI 2.0 Message Signing, its own keys and its own registration of the portal',
  },
]

/** The portal's one callback path. */
export const CALLBACK_PATH = '/auth/callback'

/** Where both banks post logout tokens (`banks.router()` mounts it). */
export const BACKCHANNEL_LOGOUT_PATH = '/auth/backchannel-logout'

/** The bank that says who the user is; the other banks link to that account. */
const IDENTITY_BANK = 'Example Bank A'

interface LayoutOptions {
  readonly title: string
  readonly signedIn: boolean
  readonly body: SafeHtml
}

function layout({ title, signedIn, body }: LayoutOptions): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Example Portal</title>
        <link rel="stylesheet" href="/portal.css" />
      </head>
      <body>
        <header>
          <a class="brand" href="/">Example Portal</a>
          <nav>
            <a href="/connect">Connect your bank</a>
            ${
              signedIn
                ? html`<a href="/account">Account</a>
                    <form method="post" action="/auth/logout">
                      <button class="link">Log out</button>
                    </form>`
                : html`<a href="/account">Account</a>`
            }
          </nav>
        </header>
        <main>${body}</main>
        <footer>express-fapi example · an aggregator of two FAPI banks</footer>
      </body>
    </html>`.toString()
}

/** The home page: who is signed in, or the login form with the response-mode picker. */
export function homePage(options: {
  readonly name: string | undefined
  readonly defaultMode: ResponseMode
}): string {
  const body =
    options.name === undefined
      ? html`<h1>Welcome</h1>
          <p>
            Sign in with Example Bank A, then <a href="/connect">connect your bank</a>: Example Bank
            B, and a payment at Example Bank A.
          </p>
          <form class="card" method="get" action="/auth/login">
            <input type="hidden" name="returnTo" value="/account" />
            <input type="hidden" name="server" value="bank-a" />
            <button class="primary">Log in</button>
            <details id="developer" class="developer">
              <summary>For developers: the response mode</summary>
              <fieldset>
                <legend>How the signed answer comes back</legend>
                ${RESPONSE_MODES.map(
                  ({ mode, description }) =>
                    html`<label>
                      <input
                        type="radio"
                        name="mode"
                        value="${mode}"
                        ${mode === options.defaultMode ? html`checked` : ''}
                      />
                      <code>${mode}</code> <span>${description}</span>
                    </label>`,
                )}
              </fieldset>
            </details>
          </form>`
      : html`<h1>Welcome back, ${options.name}</h1>
          <p><a class="button primary" href="/account">Go to your account</a></p>`
  return layout({ title: 'Home', signedIn: options.name !== undefined, body })
}

const TIME_CLAIMS = new Set(['iat', 'exp', 'auth_time', 'nbf'])

function claimValue(name: string, value: unknown): string {
  if (TIME_CLAIMS.has(name) && typeof value === 'number') {
    return `${new Date(value * 1000).toISOString()} (${value})`
  }
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function minutesFromNow(at: number, now: number): string {
  const minutes = Math.round((at - now) / 60_000)
  if (minutes > 0) return `in ${minutes} minute${minutes === 1 ? '' : 's'}`
  if (minutes < 0) return `${-minutes} minute${minutes === -1 ? '' : 's'} ago`
  return 'now'
}

/** One granted `authorization_details` entry (RFC 9396), in words. */
function detailText(detail: AuthorizationDetail): string {
  const fields = detail as Readonly<Record<string, unknown>>
  if (detail.type === 'payment_initiation') {
    const amount = fields.instructedAmount as { amount?: unknown; currency?: unknown } | undefined
    return `one payment of ${String(amount?.amount)} ${String(amount?.currency)} to ${String(
      fields.creditorName,
    )}`
  }
  return detail.type
}

/** One linked bank on the account page. */
export interface LinkedBank {
  readonly id: string
  readonly name: string
  readonly login: ActiveGrant
  readonly responseMode: string | undefined
}

/** Protocol values of the ID token that mean nothing to a person (and `nonce`, a secret). */
const HIDDEN_CLAIMS = new Set(['nonce', 'at_hash', 'c_hash', 's_hash', 'sid'])

/** What the bank shared about the person, in words. */
function sharedClaims(claims: Readonly<Record<string, unknown>>): string {
  const shared = [
    typeof claims.name === 'string' ? 'your name' : undefined,
    typeof claims.email === 'string' ? 'your email address' : undefined,
  ].filter((item) => item !== undefined)
  return shared.length === 0 ? 'only an identifier of your account' : shared.join(' and ')
}

function bankSection(bank: LinkedBank, now: number, requestedScope: string): SafeHtml {
  const { id, login } = bank
  const expiresAt = login.tokens.expiresAt
  const details = login.authorizationDetails ?? []
  return html`<section class="card bank" id="${id}">
    <h2>${bank.name}</h2>
    <dl>
      <dt>Response mode</dt>
      <dd id="response-mode-${id}"><code>${bank.responseMode ?? 'unknown'}</code></dd>
      <dt>Scope</dt>
      <dd id="scope-${id}">
        ${
          login.tokens.scope === ''
            ? html`${requestedScope}
                <span class="note">(as asked: the bank did not name another scope)</span>`
            : login.tokens.scope
        }
      </dd>
      <dt>Shared with the portal</dt>
      <dd id="shared-${id}">${sharedClaims(login.claims)}</dd>
      <dt>Granted</dt>
      <dd id="granted-${id}">
        ${
          details.length === 0
            ? html`<span class="note">no <code>authorization_details</code></span>`
            : html`<ul class="granted">
                ${details.map(
                  (detail) =>
                    html`<li data-type="${detail.type}">
                      <strong>${detailText(detail)}</strong>
                      <pre>${JSON.stringify(detail, null, 2)}</pre>
                    </li>`,
                )}
              </ul>`
        }
      </dd>
      <dt>Access token expires</dt>
      <dd>
        ${
          expiresAt === undefined
            ? 'not said by the server'
            : `${new Date(expiresAt).toISOString()} (${minutesFromNow(expiresAt, now)})`
        }
      </dd>
      <dt>Linked</dt>
      <dd>${new Date(login.createdAt).toISOString()}</dd>
    </dl>
    <h3>ID token claims</h3>
    <table class="claims" id="claims-${id}">
      ${Object.entries(login.claims)
        .filter(([claim]) => !HIDDEN_CLAIMS.has(claim))
        .map(
          ([claim, value]) =>
            html`<tr>
              <th>${claim}</th>
              <td>${claimValue(claim, value)}</td>
            </tr>`,
        )}
    </table>
    <form class="unlink" method="post" action="/account/unlink/${id}">
      <button class="secondary" id="unlink-${id}">Unlink ${bank.name}</button>
      <span class="note">The portal asks the bank to revoke its tokens, and forgets them.</span>
    </form>
  </section>`
}

/**
 * The account page: each linked bank with its ID token's claims, the granted scope and
 * `authorization_details`, when the tokens expire. Never a token.
 */
export function accountPage(options: {
  readonly banks: readonly LinkedBank[]
  readonly now: number
  /** The scope the portal asks for (shown when a bank's token response names none). */
  readonly requestedScope: string
  /** The name of a bank just unlinked, for a line at the top. */
  readonly unlinked?: string | undefined
}): string {
  const [first] = options.banks
  const claims = first?.login.claims ?? {}
  const name = typeof claims.name === 'string' ? claims.name : String(claims.sub)
  const body = html`<h1>Your account</h1>
    ${
      options.unlinked === undefined
        ? ''
        : html`<p class="notice" id="unlinked" role="status">
            ${options.unlinked} is no longer linked: the portal revoked its tokens.
          </p>`
    }
    <p class="lead">
      Signed in as <strong id="account-name">${name}</strong>, with
      <span id="linked-count">${String(options.banks.length)}</span> linked
      bank${options.banks.length === 1 ? '' : 's'}.
      <a href="/connect">Connect another bank</a>
    </p>
    ${options.banks.map((bank) => bankSection(bank, options.now, options.requestedScope))}
    <p class="note">The tokens themselves stay on the server.</p>
    <p class="note" id="backchannel">
      Signing out at a bank ends its link here too: each bank posts a logout token to
      <code>${BACKCHANNEL_LOGOUT_PATH}</code> (back-channel logout).
    </p>
    <p>
      <a id="trace-link" href="/account/trace">See how the last login happened, step by step</a>
    </p>`
  return layout({ title: 'Account', signedIn: true, body })
}

/** The "Connect your bank" page: both banks, linked or not, and a payment at bank A. */
export function connectPage(options: {
  readonly linked: readonly string[]
  readonly signedIn: boolean
  readonly payment: {
    readonly amount: string
    readonly currency: string
    readonly creditorName: string
  }
}): string {
  const { payment } = options
  const body = html`<h1>Connect your bank</h1>
    <p class="lead">Link your accounts at each bank; the portal shows what each one granted.</p>
    <ul class="banks" id="banks">
      ${BANKS.map(
        ({ id, name, description }) =>
          html`<li class="card" id="connect-${id}">
            <h2>${name}</h2>
            <p class="note">${description}</p>
            <p class="status">
              ${options.linked.includes(id) ? html`<strong>Linked</strong>` : 'Not linked yet'}
            </p>
            ${
              id !== 'bank-a' && !options.signedIn
                ? html`<p>
                      <span class="button disabled" aria-disabled="true" id="connect-${id}-disabled"
                        >Connect ${name}</span
                      >
                    </p>
                    <p class="note" id="${id}-sign-in-first">
                      Sign in with ${IDENTITY_BANK} first: ${name} links to the account you sign in
                      with there.
                    </p>`
                : html`<p>
                    <a class="button primary" href="/auth/login?server=${id}&returnTo=%2Faccount"
                      >Connect ${name}</a
                    >
                  </p>`
            }
            ${
              id === 'bank-a' && !options.signedIn
                ? html`<p class="note" id="payment-sign-in-first">
                    To authorize a payment, connect a bank first: the portal asks the bank for a
                    payment consent only for someone signed in.
                  </p>`
                : ''
            }
            ${
              id === 'bank-a' && options.signedIn
                ? html`<form method="post" action="/connect/bank-a/payment">
                    <button class="primary">
                      Connect and authorize a payment of ${payment.amount} ${payment.currency} to
                      ${payment.creditorName}
                    </button>
                  </form>`
                : ''
            }
          </li>`,
      )}
    </ul>`
  return layout({ title: 'Connect your bank', signedIn: options.signedIn, body })
}

/** Who sends each step of the trace to whom. */
const STEP: Readonly<Record<FapiEvent['type'], { from: string; to: string; title: string }>> = {
  'login.started': {
    from: 'Browser',
    to: 'Portal',
    title: 'The browser asks the portal to log in',
  },
  metadata: {
    from: 'Portal',
    to: 'Server',
    title: 'The portal uses the server metadata (discovery)',
  },
  'request-object': {
    from: 'Portal',
    to: 'Portal',
    title: 'The portal signs a request object (JAR)',
  },
  par: { from: 'Portal', to: 'Server', title: 'The portal pushes the request (PAR)' },
  'authorization-redirect': {
    from: 'Portal',
    to: 'Browser',
    title: 'The browser is sent to the server',
  },
  'authorization-response': {
    from: 'Server',
    to: 'Portal',
    title: 'The signed answer comes back (JARM)',
  },
  'token-response': {
    from: 'Portal',
    to: 'Server',
    title: 'The portal redeems the code for tokens',
  },
  'id-token': { from: 'Server', to: 'Portal', title: 'The ID token, verified' },
  'login.completed': { from: 'Portal', to: 'Browser', title: 'Logged in: a new session' },
  'login.failed': { from: 'Portal', to: 'Browser', title: 'The login failed' },
}

/** The trace page: the messages of the last login, each expandable. */
export function tracePage(options: { readonly events: readonly FapiEvent[] }): string {
  const first = options.events[0]?.at ?? 0
  const body = html`<h1>How you logged in</h1>
    <p class="lead">
      The messages between your browser, the portal and the sign-in server, in order. Secrets
      (tokens, the code, <code>state</code>, <code>nonce</code>, PKCE values) are never shown.
    </p>
    <ol id="trace" class="timeline">
      ${options.events.map((event) => {
        const step = STEP[event.type]
        const { type, traceId, at, ...details } = event
        void traceId
        return html`<li class="step" data-type="${type}">
          <details>
            <summary>
              <span class="actors">${step.from} → ${step.to}</span>
              <strong>${step.title}</strong>
              <span class="when">+${String(at - first)} ms</span>
            </summary>
            <pre>${JSON.stringify(details, null, 2)}</pre>
          </details>
        </li>`
      })}
    </ol>
    <p><a class="button primary" href="/account">Back to your account</a></p>`
  return layout({ title: 'Login trace', signedIn: true, body })
}

/** Where the bank sends the browser after logging out. */
export function signedOutPage(options: { readonly signedIn: boolean }): string {
  const body = options.signedIn
    ? html`<h1>Still signed in</h1>
        <p class="lead">This browser is still signed in to the portal.</p>
        <p><a class="button primary" href="/account">Go to your account</a></p>`
    : html`<h1 id="signed-out">You are signed out</h1>
        <p class="lead">
          You are signed out of the portal and of the bank. Close this window, or sign in again.
        </p>
        <p><a class="button primary" href="/">Back to the home page</a></p>`
  return layout({ title: 'Signed out', signedIn: options.signedIn, body })
}

/** The error page: a heading for the case, the stable code and a sentence for people. */
export function errorPage(options: {
  /** What happened, in a few words. Default "Sign-in did not work". */
  readonly heading?: string
  readonly code: string
  readonly sentence: string
  readonly signedIn: boolean
}): string {
  const body = html`<h1 id="error-heading">${options.heading ?? 'Sign-in did not work'}</h1>
    <section class="card error">
      <p class="lead" id="error-sentence">${options.sentence}</p>
      <p>Error code: <code id="error-code">${options.code}</code></p>
    </section>
    <p>
      <a class="button primary" href="/">Back to the home page</a>
    </p>`
  return layout({ title: 'Error', signedIn: options.signedIn, body })
}

/** The stylesheet, served from the portal's own origin (CSP: style-src 'self'). */
export const STYLESHEET = `
:root { font-family: system-ui, sans-serif; color: #1c2430; background: #f4f6f9; }
body { margin: 0; }
header { display: flex; align-items: center; justify-content: space-between; padding: 0.8rem 2rem;
  background: #17324d; color: #fff; }
header a, header .link { color: #fff; text-decoration: none; margin-left: 1.2rem; }
header form { display: inline; }
.brand { font-weight: 700; margin-left: 0; }
main { max-width: 46rem; margin: 2rem auto; padding: 0 1.5rem; }
footer { text-align: center; color: #6b7785; font-size: 0.85rem; margin: 3rem 0 1rem; }
h1 { font-weight: 600; }
.lead { font-size: 1.15rem; }
.card { background: #fff; border-radius: 8px; padding: 1.2rem 1.5rem; margin: 1.2rem 0;
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); }
.card.error { border-left: 5px solid #c0392b; }
fieldset { border: 0; padding: 0; margin: 0 0 1rem; }
.developer { margin-top: 1.2rem; border-top: 1px solid #e3e7ec; padding-top: 0.8rem; }
.developer summary { cursor: pointer; color: #56606b; font-size: 0.9rem; }
legend { font-weight: 600; margin-bottom: 0.6rem; }
label { display: block; padding: 0.45rem 0; }
label span { color: #56606b; }
button, .button { font: inherit; border: 0; border-radius: 6px; padding: 0.55rem 1.2rem;
  cursor: pointer; text-decoration: none; display: inline-block; }
.primary { background: #1f6feb; color: #fff; }
.secondary { background: #eef1f5; color: #1c2430; border: 1px solid #c9d1db; }
.disabled { background: #e3e7ec; color: #6b7785; cursor: not-allowed; }
#backchannel code { white-space: nowrap; }
.unlink { margin-top: 1.2rem; display: flex; gap: 0.8rem; align-items: center; flex-wrap: wrap; }
.notice { background: #e8f3ea; border-left: 5px solid #2e7d32; padding: 0.6rem 1rem;
  border-radius: 4px; }
.link { background: none; padding: 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.4rem 1.2rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid #e3e7ec;
  vertical-align: top; overflow-wrap: anywhere; }
th { width: 9rem; }
.note { color: #6b7785; font-size: 0.85rem; }
.banks { list-style: none; padding: 0; }
.granted { margin: 0; padding-left: 1rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
code { background: #eef1f5; padding: 0.1rem 0.3rem; border-radius: 4px; }
.timeline { list-style: none; padding: 0; border-left: 3px solid #1f6feb; margin-left: 0.6rem; }
.step { margin: 0 0 0.8rem 1rem; background: #fff; border-radius: 8px; padding: 0.6rem 1rem;
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); }
.step summary { cursor: pointer; display: flex; gap: 0.8rem; align-items: baseline; }
.actors { color: #1f6feb; font-size: 0.85rem; min-width: 9rem; }
.when { margin-left: auto; color: #6b7785; font-size: 0.85rem; }
pre { background: #f4f6f9; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
`
