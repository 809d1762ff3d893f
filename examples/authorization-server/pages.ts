/**
 * The authorization server's own pages: sign-in, consent, sign-out and errors.
 */
import { SafeHtml, html } from '../shared/html.js'

/** What each scope lets the portal see, in words. */
const SCOPE_TEXT: Readonly<Record<string, string>> = {
  openid: 'know who you are (a stable identifier)',
  profile: 'see your name',
  email: 'see your email address',
}

/** One `authorization_details` entry, in words. */
function detailText(detail: Readonly<Record<string, unknown>>): string {
  if (detail.type === 'payment_initiation') {
    const amount = detail.instructedAmount as { amount?: unknown; currency?: unknown } | undefined
    return `make one payment of ${String(amount?.amount)} ${String(amount?.currency)} to ${String(
      (detail.creditorName as string | undefined) ?? 'the payee',
    )} (consent ${String(detail.consentId)})`
  }
  return `${String(detail.type)}: ${JSON.stringify(detail)}`
}

function layout(bank: string, title: string, body: SafeHtml): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · ${bank}</title>
        <link rel="stylesheet" href="/assets/as.css" />
      </head>
      <body>
        <main class="panel">
          <p class="brand">${bank}</p>
          ${body}
          <p class="note">Example FAPI 2.0 authorization server (oidc-provider)</p>
        </main>
      </body>
    </html>`.toString()
}

/** The sign-in page. */
export function loginPage(options: {
  readonly bank: string
  readonly uid: string
  readonly clientId: string
  readonly login?: string
  readonly failed?: boolean
}): string {
  return layout(
    options.bank,
    'Sign in',
    html`<h1>Sign in</h1>
      <p>to continue to <strong>${options.clientId}</strong></p>
      ${options.failed ? html`<p class="error" role="alert">Wrong user name or password.</p>` : ''}
      <form method="post" action="/interaction/${options.uid}/login">
        <label
          >User name
          <input
            name="login"
            autocomplete="username"
            value="${options.login ?? ''}"
            required
            autofocus
        /></label>
        <label
          >Password <input name="password" type="password" autocomplete="current-password" required
        /></label>
        <button class="primary">Sign in</button>
      </form>
      <p class="hint">
        Demo accounts: <code>alice</code> or <code>bob</code>, password <code>demo</code>.
      </p>`,
  )
}

/** The consent page: what the client asks for, allow or deny. */
export function consentPage(options: {
  readonly bank: string
  readonly uid: string
  readonly clientId: string
  readonly scopes: readonly string[]
  /** The request's `authorization_details` (RFC 9396), if any. */
  readonly details?: readonly Readonly<Record<string, unknown>>[]
}): string {
  return layout(
    options.bank,
    'Allow access',
    html`<h1>Allow access?</h1>
      <p><strong>${options.clientId}</strong> would like to:</p>
      <ul>
        ${options.scopes.map((scope) => html`<li>${SCOPE_TEXT[scope] ?? scope}</li>`)}
        ${(options.details ?? []).map((detail) => html`<li class="detail">${detailText(detail)}</li>`)}
      </ul>
      <form method="post" action="/interaction/${options.uid}/confirm">
        <button class="primary">Allow</button>
      </form>
      <form method="post" action="/interaction/${options.uid}/abort">
        <button class="secondary">Deny</button>
      </form>`,
  )
}

/** The sign-out confirmation; `form` is oidc-provider's hidden form (with its CSRF token). */
export function logoutPage(bank: string, form: string): string {
  // `form` is markup made by oidc-provider itself, not user input.
  return layout(
    bank,
    'Sign out',
    html`<h1>Sign out?</h1>
      <p>Do you also want to sign out of ${bank}?</p>
      ${new SafeHtml(form)}
      <button class="primary" type="submit" form="op.logoutForm" name="logout" value="yes">
        Yes, sign me out
      </button>
      <button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>`,
  )
}

/** Shown after a sign-out that has no way back to the client. */
export function signedOutPage(bank: string): string {
  return layout(
    bank,
    'Signed out',
    html`<h1>Signed out</h1>
      <p>You have signed out of ${bank}.</p>`,
  )
}

/** An error of the server, e.g. an unknown client or an expired sign-in. */
export function serverErrorPage(
  bank: string,
  error: string,
  description: string | undefined,
  back?: { readonly href: string; readonly label: string },
  heading = 'Something is wrong',
): string {
  return layout(
    bank,
    'Error',
    html`<h1>${heading}</h1>
      <p class="error"><code>${error}</code></p>
      ${description === undefined ? '' : html`<p>${description}</p>`}
      ${back === undefined ? '' : html`<p><a id="back-to-app" href="${back.href}">${back.label}</a></p>`}`,
  )
}

export const STYLESHEET = `
:root { font-family: Georgia, 'Times New Roman', serif; background: #eef2ee; color: #18261d; }
body { margin: 0; }
.panel { max-width: 24rem; margin: 4rem auto; background: #fff; padding: 1.5rem 2rem;
  border-radius: 10px; box-shadow: 0 2px 8px rgba(0, 0, 0, 0.15); }
.brand { font-weight: 700; color: #1b6b3a; letter-spacing: 0.05em; text-transform: uppercase;
  font-size: 0.85rem; }
label { display: block; margin: 0.8rem 0; }
input { display: block; width: 100%; box-sizing: border-box; padding: 0.5rem; font: inherit;
  margin-top: 0.25rem; }
button { font: inherit; border: 0; border-radius: 6px; padding: 0.55rem 1.2rem; cursor: pointer;
  margin: 0.3rem 0.3rem 0.3rem 0; }
.primary { background: #1b6b3a; color: #fff; }
.secondary { background: #dde5de; color: #18261d; }
form { display: inline; }
form[action$='/login'] { display: block; }
.error { color: #a12a1f; }
.hint, .note { color: #5f6d63; font-size: 0.85rem; }
`
