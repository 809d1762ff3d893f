/**
 * The example portal and its two banks' authorization servers, started as `npm start` starts them,
 * driven by a real Chromium: the portal on `localhost` and the banks on `127.0.0.1` are two sites,
 * and the session cookie is `SameSite=Lax` with Chromium's two-minute allowance switched off, as
 * for a user whose session is old. Every test saves a screenshot in test-results/.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page, Request } from 'playwright-core'
import type { BankEvent } from '../../examples/authorization-server/server.js'
import type { BankName } from '../../examples/portal/app.js'
import { startExample, type ExampleOptions, type RunningExample } from '../../examples/start.js'
import type { ResponseMode } from '../../src/index.js'
import { chromiumMissing, launchChromium, screenshot } from '../support/chromium.js'

const TIMEOUT = 60_000
/** The portal's one callback: every response mode arrives there. */
const CALLBACK = '/auth/callback'
const CALLBACK_PATH: Readonly<Record<string, string>> = {
  jwt: CALLBACK,
  'query.jwt': CALLBACK,
  'form_post.jwt': CALLBACK,
  'fragment.jwt': CALLBACK,
}

let browser: Browser
let dataDir: string
const examples: RunningExample[] = []
/** What the banks of every example started here saw (revocations, back-channel logouts). */
const bankEvents: { bank: BankName; event: BankEvent }[] = []

async function start(options: ExampleOptions = {}): Promise<RunningExample> {
  const example = await startExample({
    portalPort: 0,
    asPort: 0,
    bankBPort: 0,
    dataDirs: { portal: join(dataDir, 'portal'), authorizationServer: join(dataDir, 'as') },
    onBankEvent: (bank, event) => bankEvents.push({ bank, event }),
    ...options,
  })
  examples.push(example)
  return example
}

/** Requests a page sends to a callback, with the headers Chromium really sent. */
function recordCallbacks(page: Page, example: RunningExample): Request[] {
  const seen: Request[] = []
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (url.origin === example.portalUrl && url.pathname === CALLBACK) {
      seen.push(request)
    }
  })
  return seen
}

function hasSessionCookie(cookieHeader: string | undefined): boolean {
  return (cookieHeader ?? '').split(';').some((pair) => pair.trim().startsWith('portal.sid='))
}

/** At a bank's sign-in page (bank A unless said): signs in as alice (unless said). */
async function signIn(
  page: Page,
  example: RunningExample,
  bank: 'bank-a' | 'bank-b' = 'bank-a',
  user = 'alice',
): Promise<void> {
  await page.waitForURL(`${example.issuers[bank]}/interaction/**`)
  assert.equal(await page.title(), `Sign in · Example Bank ${bank === 'bank-a' ? 'A' : 'B'}`)
  await page.getByLabel('User name').fill(user)
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** Answers the consent page when the server shows one (it does not once consent was given). */
async function consentIfAsked(
  page: Page,
  example: RunningExample,
  consent: 'allow' | 'deny',
): Promise<void> {
  const button = page.getByRole('button', { name: consent === 'allow' ? 'Allow' : 'Deny' })
  const asked = button.waitFor().then(() => true)
  const skipped = page.waitForURL((url) => url.origin === example.portalUrl).then(() => false)
  // The other one stays pending, and fails when the page closes: nobody waits for it.
  asked.catch(() => undefined)
  skipped.catch(() => undefined)
  if (await Promise.race([asked, skipped])) await button.click()
}

/** At the server's sign-in page: signs in, then allows (or denies) if consent is asked. */
async function signInAndConsent(
  page: Page,
  example: RunningExample,
  consent: 'allow' | 'deny' = 'allow',
): Promise<void> {
  await signIn(page, example)
  await consentIfAsked(page, example, consent)
}

/** On the home page: opens the developer panel and picks the response mode. */
async function pickMode(page: Page, mode: ResponseMode): Promise<void> {
  await page.locator('#developer summary').click()
  await page.locator(`input[name="mode"][value="${mode}"]`).check()
}

/** From the portal's home page: picks the mode and logs in as alice; lands on the account page. */
async function logIn(page: Page, example: RunningExample, mode: ResponseMode): Promise<void> {
  await page.goto(example.portalUrl)
  await pickMode(page, mode)
  await page.getByRole('button', { name: 'Log in' }).click()
  await signInAndConsent(page, example)
  await page.waitForURL(`${example.portalUrl}/account`)
}

async function assertOnAccountPage(page: Page, mode: ResponseMode): Promise<void> {
  assert.equal(await page.title(), 'Account · Example Portal')
  assert.equal(await page.locator('#account-name').textContent(), 'Alice Andersen')
  assert.equal((await page.locator('#response-mode-bank-a').textContent())?.trim(), mode)
  assert.match((await page.locator('#scope-bank-a').textContent()) ?? '', /openid/)
  const text = (await page.locator('main').textContent()) ?? ''
  assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}/, 'no token on the page')
}

/** A site on 127.0.0.1 whose pages auto-submit a POST form to the portal (`/payment`, `/logout`). */
async function attackerSite(
  portalUrl: string,
): Promise<{ origin: string; close(): Promise<void> }> {
  const targets: Readonly<Record<string, string>> = {
    '/payment': `${portalUrl}/connect/bank-a/payment`,
    '/logout': `${portalUrl}/auth/logout`,
  }
  const server = createServer((req, res) => {
    const target = targets[req.url ?? '']
    if (target === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(
      `<!doctype html><title>Win a prize</title><form method="post" action="${target}"></form>` +
        '<script>document.forms[0].submit()</script>',
    )
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${String(port)}`,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext()
  return { context, page: await context.newPage() }
}

describe(
  'the example portal in Chromium (two sites, Lax session cookie, old session)',
  {
    skip: chromiumMissing,
  },
  () => {
    let example: RunningExample

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'express-fapi-example-'))
      browser = await launchChromium()
      example = await start()
    })

    after(async () => {
      await browser?.close()
      await Promise.all(examples.map((running) => running.close()))
      await rm(dataDir, { recursive: true, force: true })
    })

    test('query.jwt: logs in and lands on the account page', { timeout: TIMEOUT }, async () => {
      const { context, page } = await newPage()
      const callbacks = recordCallbacks(page, example)
      await page.goto(example.portalUrl)
      await screenshot(page, 'portal-home')
      await logIn(page, example, 'query.jwt')
      await assertOnAccountPage(page, 'query.jwt')
      const [delivery] = callbacks
      assert.equal(callbacks.length, 1)
      assert.equal(delivery?.method(), 'GET')
      assert.ok(new URL(delivery?.url() ?? '').searchParams.has('response'))
      const [cookie] = (await context.cookies()).filter(({ name }) => name === 'portal.sid')
      assert.equal(cookie?.sameSite, 'Lax')
      await screenshot(page, 'portal-login-query.jwt')
      await context.close()
    })

    test(
      'copy and flow: what was shared, no nonce, a reload or the back button after login, 404 and a refused returnTo',
      { timeout: TIMEOUT },
      async () => {
        const { context, page } = await newPage()
        const callbacks = recordCallbacks(page, example)
        await logIn(page, example, 'query.jwt')
        assert.match(
          (await page.locator('#shared-bank-a').textContent()) ?? '',
          /your name and your email address/,
        )
        assert.match((await page.locator('#scope-bank-a').textContent()) ?? '', /email/)
        const claimNames = await page.locator('#claims-bank-a th').allTextContents()
        assert.ok(claimNames.includes('sub'), claimNames.join())
        assert.ok(!claimNames.includes('nonce'), 'the nonce is never shown')
        await screenshot(page, 'portal-account')

        // The back button from the account page: the bank's finished sign-in leads back.
        await page.goBack()
        assert.ok(page.url().startsWith(example.issuers['bank-a']), page.url())
        const back = page.locator('#back-to-app')
        await back.waitFor()
        await screenshot(page, 'portal-back-after-login')
        await back.click()
        await page.waitForURL(`${example.portalUrl}/`)
        assert.match(
          (await page.getByRole('heading', { level: 1 }).textContent()) ?? '',
          /Welcome back/,
        )

        // The callback again (a reload): the response is used, the user signed in: the account.
        await page.goto(callbacks[0]?.url() ?? '')
        await page.waitForURL(`${example.portalUrl}/account`)

        await page.goto(`${example.portalUrl}/no-such-page`)
        assert.equal(await page.locator('#error-heading').textContent(), 'Page not found')
        await screenshot(page, 'portal-not-found')

        await page.goto(
          `${example.portalUrl}/auth/login?returnTo=${encodeURIComponent('https://evil.example/')}`,
        )
        assert.equal(
          await page.locator('#error-heading').textContent(),
          'That address is not part of the portal',
        )
        assert.match(
          (await page.locator('#error-sentence').textContent()) ?? '',
          /not a page of this portal/,
        )
        await screenshot(page, 'portal-return-to-refused')
        await context.close()
      },
    )

    test(
      "jwt (the library's default): logs in by a GET with the response in the query",
      { timeout: TIMEOUT },
      async () => {
        const { context, page } = await newPage()
        const callbacks = recordCallbacks(page, example)
        await logIn(page, example, 'jwt')
        await assertOnAccountPage(page, 'jwt')
        assert.deepEqual(
          callbacks.map((request) => request.method()),
          ['GET'],
        )
        assert.ok(new URL(callbacks[0]?.url() ?? '').searchParams.has('response'))
        await screenshot(page, 'portal-login-jwt')
        await context.close()
      },
    )

    test(
      'the trace page shows the last login step by step, with every secret redacted',
      { timeout: TIMEOUT },
      async () => {
        const { context, page } = await newPage()
        await logIn(page, example, 'form_post.jwt')
        await page.getByRole('link', { name: /step by step/ }).click()
        await page.waitForURL(`${example.portalUrl}/account/trace`)
        assert.equal(await page.title(), 'Login trace · Example Portal')
        const types = await page
          .locator('#trace > li')
          .evaluateAll((items) => items.map((item) => item.getAttribute('data-type')))
        assert.deepEqual(types, [
          'login.started',
          'metadata',
          'request-object',
          'par',
          'authorization-redirect',
          'authorization-response',
          'token-response',
          'id-token',
          'login.completed',
        ])
        const text = (await page.locator('main').textContent()) ?? ''
        assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}/, 'no JWT on the page')
        assert.match(text, /\[redacted\]/)
        // Open the request object and the authorization response, as a reader would.
        for (const type of ['request-object', 'authorization-response']) {
          await page.locator(`#trace > li[data-type="${type}"] summary`).click()
        }
        const opened = await page.locator('#trace details[open] pre').allTextContents()
        assert.equal(opened.length, 2)
        assert.match(opened[0] ?? '', /"state": "\[redacted\]"/)
        assert.match(opened[1] ?? '', /"code": "\[redacted\]"/)
        await screenshot(page, 'portal-trace')
        await context.close()
      },
    )

    test(
      'form_post.jwt: the cross-site POST comes without the session cookie and is relayed once from the portal',
      {
        timeout: TIMEOUT,
      },
      async () => {
        const { context, page } = await newPage()
        const callbacks = recordCallbacks(page, example)
        await logIn(page, example, 'form_post.jwt')
        await assertOnAccountPage(page, 'form_post.jwt')

        assert.deepEqual(
          callbacks.map((request) => request.method()),
          ['POST', 'POST'],
        )
        const [crossSite, relayed] = callbacks as [Request, Request]
        const first = await crossSite.allHeaders()
        assert.equal(first['sec-fetch-site'], 'cross-site')
        assert.equal(hasSessionCookie(first.cookie), false, 'the Lax cookie stays home')
        const relayPage = await crossSite.response()
        assert.equal(relayPage?.status(), 200)
        const relayHeaders = (await relayPage?.allHeaders()) ?? {}
        assert.match(relayHeaders['content-security-policy'] ?? '', /script-src 'sha256-/)
        assert.equal(relayHeaders['referrer-policy'], 'no-referrer')
        assert.equal(relayHeaders['cache-control'], 'no-store')

        const second = await relayed.allHeaders()
        assert.equal(second['sec-fetch-site'], 'same-origin')
        assert.equal(hasSessionCookie(second.cookie), true, 'the same-origin POST carries it')
        assert.match(relayed.postData() ?? '', /(^|&)fapi_relay=1(&|$)/)
        assert.equal((await relayed.response())?.status(), 303)
        await screenshot(page, 'portal-login-form_post.jwt')
        await context.close()
      },
    )

    test(
      'form_post.jwt without the relay: the same POST, marked as relayed, fails without the session',
      {
        timeout: TIMEOUT,
      },
      async () => {
        const { context, page } = await newPage()
        // Mark the server's cross-site POST as relayed already, so the portal handles it at once.
        await page.route(`${example.portalUrl}${CALLBACK_PATH['form_post.jwt']}`, async (route) => {
          const body = route.request().postData() ?? ''
          await route.continue({ postData: `${body}&fapi_relay=1` })
        })
        await page.goto(example.portalUrl)
        await pickMode(page, 'form_post.jwt')
        await page.getByRole('button', { name: 'Log in' }).click()
        await signInAndConsent(page, example)
        await page.waitForURL(`${example.portalUrl}${CALLBACK_PATH['form_post.jwt']}`)
        assert.equal(await page.locator('#error-code').textContent(), 'ERR_TRANSACTION_NOT_FOUND')
        await screenshot(page, 'portal-form_post.jwt-without-relay')
        await context.close()
      },
    )

    test(
      'fragment.jwt: the relay page posts the fragment and leaves it out of history',
      {
        timeout: TIMEOUT,
      },
      async () => {
        const { context, page } = await newPage()
        const callbacks = recordCallbacks(page, example)
        const addresses: string[] = []
        page.on('framenavigated', (frame) => {
          if (frame === page.mainFrame()) addresses.push(frame.url())
        })
        await logIn(page, example, 'fragment.jwt')
        await assertOnAccountPage(page, 'fragment.jwt')
        assert.deepEqual(
          callbacks.map((request) => request.method()),
          ['GET', 'POST'],
        )
        const [relayGet, relayPost] = callbacks as [Request, Request]
        assert.equal(new URL(relayGet.url()).search, '', 'the server sees no parameter')
        assert.match(relayPost.postData() ?? '', /^response=eyJ/)
        assert.equal((await relayPost.allHeaders())['sec-fetch-site'], 'same-origin')
        const relayHeaders = (await (await relayGet.response())?.allHeaders()) ?? {}
        assert.match(relayHeaders['content-security-policy'] ?? '', /script-src 'sha256-/)
        assert.equal(relayHeaders['referrer-policy'], 'no-referrer')
        // The page arrived with the response in the fragment, then replaced its address without it.
        const callbackUrl = `${example.portalUrl}${CALLBACK_PATH['fragment.jwt']}`
        const withFragment = addresses.findIndex((url) =>
          url.startsWith(`${callbackUrl}#response=`),
        )
        assert.ok(withFragment >= 0, addresses.join('\n'))
        assert.equal(addresses[withFragment + 1], callbackUrl, 'history.replaceState dropped it')
        await screenshot(page, 'portal-login-fragment.jwt')
        await context.close()
      },
    )

    test('two tabs log in at the same time and both succeed', { timeout: TIMEOUT }, async () => {
      const { context, page: first } = await newPage()
      const second = await context.newPage()
      // Both logins are pending in the one portal session, and both tabs sign in at the server
      // at once. The consents are given one after the other: two callbacks of one session within
      // the same few milliseconds race on session.regenerate(): the later one finds its session gone.
      await first.goto(`${example.portalUrl}/auth/login?mode=form_post.jwt&returnTo=%2Faccount`)
      await second.goto(`${example.portalUrl}/auth/login?mode=fragment.jwt&returnTo=%2Faccount`)
      await Promise.all([signIn(first, example), signIn(second, example)])
      for (const page of [second, first]) {
        await consentIfAsked(page, example, 'allow')
        await page.waitForURL(`${example.portalUrl}/account`)
      }
      await assertOnAccountPage(first, 'form_post.jwt')
      await assertOnAccountPage(second, 'fragment.jwt')
      await screenshot(first, 'portal-two-tabs-first')
      await screenshot(second, 'portal-two-tabs-second')
      await context.close()
    })

    test(
      'two tabs race on query.jwt: the late GET finds its session gone and shows ERR_TRANSACTION_NOT_FOUND, never a relay',
      { timeout: TIMEOUT },
      async () => {
        const { context, page: first } = await newPage()
        const second = await context.newPage()
        const secondCallbacks = recordCallbacks(second, example)
        await first.goto(`${example.portalUrl}/auth/login?mode=query.jwt&returnTo=%2Faccount`)
        await second.goto(`${example.portalUrl}/auth/login?mode=query.jwt&returnTo=%2Faccount`)
        await Promise.all([signIn(first, example), signIn(second, example)])
        const allow = (page: Page) => page.getByRole('button', { name: 'Allow' })
        await Promise.all([allow(first).waitFor(), allow(second).waitFor()])
        // The race, made deterministic: the second tab's callback GET leaves the browser with the
        // session cookie of before the first tab's login, and reaches the portal after that login
        // regenerated the session (the old one is gone from the store). Chromium attaches cookies
        // when a paused request goes on, so the jar holds the old cookie at that moment, and the
        // new one again for anything the answer makes the tab send (a relay page's POST).
        const sessionCookie = async () =>
          (await context.cookies()).find(({ name }) => name === 'portal.sid')
        const before = await sessionCookie()
        assert.ok(before, 'the pending logins live in a session')
        let release: () => void = () => undefined
        const released = new Promise<void>((resolve) => {
          release = resolve
        })
        await second.route(
          (url) => url.origin === example.issuers['bank-a'] && url.pathname.endsWith('/confirm'),
          async (route) => {
            await released
            await context.addCookies([before])
            await route.continue()
          },
        )
        await allow(second).click({ noWaitAfter: true })
        await allow(first).click()
        await first.waitForURL(`${example.portalUrl}/account`)
        const after = await sessionCookie()
        assert.ok(after)
        assert.notEqual(after.value, before.value, 'the first login regenerated the session')
        await second.route(
          (url) => url.origin === example.portalUrl && url.pathname === CALLBACK,
          async (route) => {
            await context.addCookies([after])
            await route.continue()
          },
        )
        release()
        await second.locator('#error-code').waitFor()
        assert.equal(await second.locator('#error-code').textContent(), 'ERR_TRANSACTION_NOT_FOUND')
        // One GET, answered with the error at once: no relay page, no POST.
        assert.deepEqual(
          secondCallbacks.map((request) => request.method()),
          ['GET'],
        )
        const [late] = secondCallbacks as [Request]
        assert.equal((await late.allHeaders())['sec-fetch-site'], 'cross-site')
        assert.equal((await late.response())?.status(), 400)
        await screenshot(second, 'portal-two-tabs-race-query.jwt')
        await context.close()
      },
    )

    test(
      'denied consent: the error page shows the code, and logging in again works',
      {
        timeout: TIMEOUT,
      },
      async () => {
        const { context, page } = await newPage()
        await page.goto(example.portalUrl)
        await pickMode(page, 'form_post.jwt')
        await page.getByRole('button', { name: 'Log in' }).click()
        await signInAndConsent(page, example, 'deny')
        await page.waitForURL(`${example.portalUrl}${CALLBACK_PATH['form_post.jwt']}`)
        assert.equal(await page.title(), 'Error · Example Portal')
        assert.equal(await page.locator('#error-code').textContent(), 'ERR_AUTHORIZATION_ERROR')
        assert.match((await page.locator('#error-sentence').textContent()) ?? '', /declined/)
        await screenshot(page, 'portal-consent-denied')

        await page.getByRole('link', { name: 'Back to the home page' }).click()
        await pickMode(page, 'query.jwt')
        await page.getByRole('button', { name: 'Log in' }).click()
        // Still signed in at the server: only the consent is asked again.
        await consentIfAsked(page, example, 'allow')
        await page.waitForURL(`${example.portalUrl}/account`)
        await assertOnAccountPage(page, 'query.jwt')
        await context.close()
      },
    )

    test(
      'log out: signed out at the server too; the account page then sends to login',
      {
        timeout: TIMEOUT,
      },
      async () => {
        const { context, page } = await newPage()
        await logIn(page, example, 'query.jwt')
        await page.getByRole('button', { name: 'Log out' }).click()
        await page.waitForURL(`${example.issuer}/session/end**`)
        assert.equal(await page.title(), 'Sign out · Example Bank A')
        await screenshot(page, 'portal-logout-confirm')
        await page.getByRole('button', { name: 'Yes, sign me out' }).click()
        await page.waitForURL(`${example.portalUrl}/signed-out`)
        assert.equal(
          await page.getByRole('heading', { level: 1 }).textContent(),
          'You are signed out',
        )
        await screenshot(page, 'portal-signed-out')

        await page.goto(`${example.portalUrl}/account`)
        await page.waitForURL(`${example.issuer}/interaction/**`)
        assert.equal(await page.title(), 'Sign in · Example Bank A', 'a new sign-in at the server')
        await screenshot(page, 'portal-account-after-logout')
        await context.close()
      },
    )

    test(
      'aggregator: signs in with bank A, links bank B, then a payment consent at bank A, in one session',
      { timeout: TIMEOUT },
      async () => {
        const { context, page } = await newPage()
        await page.goto(`${example.portalUrl}/connect`)
        assert.equal(await page.title(), 'Connect your bank · Example Portal')
        assert.equal(await page.locator('#banks > li').count(), 2)
        // A payment consent is only created for someone signed in: no payment button yet.
        assert.equal(await page.locator('#payment-sign-in-first').count(), 1)
        assert.equal(await page.getByRole('button', { name: /authorize a payment/ }).count(), 0)
        await screenshot(page, 'aggregator-connect')

        // Bank A first: it says who the user is (the session's owner); bank B links to her.
        await logIn(page, example, 'query.jwt')
        await page.goto(`${example.portalUrl}/connect`)
        await page.getByRole('link', { name: 'Connect Example Bank B' }).click()
        await signIn(page, example, 'bank-b')
        await consentIfAsked(page, example, 'allow')
        await page.waitForURL(`${example.portalUrl}/account`)

        // Bank A, in the same session: the portal creates the consent with its client
        // credentials token, then the user authorizes it at the bank, which shows the payment on
        // its consent page.
        await page.goto(`${example.portalUrl}/connect`)
        assert.match((await page.locator('#connect-bank-b .status').textContent()) ?? '', /Linked/)
        await page.getByRole('button', { name: /authorize a payment of 10\.00 EUR/ }).click()
        // Signed in at bank A already: the bank may go straight to its consent page.
        await page.waitForURL(`${example.issuers['bank-a']}/interaction/**`)
        if ((await page.getByLabel('User name').count()) > 0) await signIn(page, example, 'bank-a')
        const detail = page.locator('li.detail')
        await detail.waitFor()
        assert.match((await detail.textContent()) ?? '', /10\.00 EUR to Example Shop \(consent pc-/)
        await screenshot(page, 'aggregator-bank-a-consent')
        await page.getByRole('button', { name: 'Allow' }).click()
        await page.waitForURL(`${example.portalUrl}/account`)

        assert.equal(await page.locator('#linked-count').textContent(), '2')
        assert.equal(await page.locator('#account-name').textContent(), 'Alice Andersen')
        const claims = async (bank: string) =>
          page
            .locator(`#claims-${bank} tr`)
            .evaluateAll((rows) =>
              Object.fromEntries(
                rows.map((row) => [
                  row.querySelector('th')?.textContent,
                  row.querySelector('td')?.textContent,
                ]),
              ),
            )
        const [claimsA, claimsB] = [await claims('bank-a'), await claims('bank-b')]
        assert.equal(claimsA.iss, example.issuers['bank-a'])
        assert.equal(claimsB.iss, example.issuers['bank-b'])
        assert.equal(claimsA.sub, 'alice')
        assert.equal(claimsB.sub, 'alice')
        // What bank A granted: the payment consent, as asked (RFC 9396).
        const granted = page.locator('#granted-bank-a li[data-type="payment_initiation"]')
        assert.equal(await granted.count(), 1)
        const grantedDetail = JSON.parse((await granted.locator('pre').textContent()) ?? '') as {
          consentId?: string
          instructedAmount?: { amount?: string; currency?: string }
        }
        assert.match(grantedDetail.consentId ?? '', /^pc-/)
        assert.deepEqual(grantedDetail.instructedAmount, { amount: '10.00', currency: 'EUR' })
        assert.match(
          (await page.locator('#granted-bank-b').textContent()) ?? '',
          /no authorization_details/,
        )
        const text = (await page.locator('main').textContent()) ?? ''
        assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}/, 'no token on the page')
        await screenshot(page, 'aggregator-account')
        await context.close()
      },
    )

    test(
      'bank B before bank A: "Connect your bank" shows it disabled, with the reason, and no link to a refused login',
      { timeout: TIMEOUT },
      async () => {
        const { context, page } = await newPage()
        await page.goto(`${example.portalUrl}/connect`)
        assert.equal(await page.getByRole('link', { name: 'Connect Example Bank B' }).count(), 0)
        const disabled = page.locator('#connect-bank-b-disabled')
        assert.equal(await disabled.getAttribute('aria-disabled'), 'true')
        assert.match(
          (await page.locator('#bank-b-sign-in-first').textContent()) ?? '',
          /Sign in with Example Bank A first/,
        )
        // Bank A is offered as before.
        assert.equal(await page.getByRole('link', { name: 'Connect Example Bank A' }).count(), 1)
        await screenshot(page, 'portal-connect-bank-b-disabled')

        // Typed by hand, the refused link says what to do, not "Sign-in did not work".
        // (Refused at the callback, or before the bank when the login start checks the owner.)
        await page.goto(`${example.portalUrl}/auth/login?server=bank-b&returnTo=%2Faccount`)
        if (new URL(page.url()).origin === example.issuers['bank-b']) {
          await signIn(page, example, 'bank-b')
          await consentIfAsked(page, example, 'allow')
        }
        await page.locator('#error-code').waitFor()
        assert.equal(await page.locator('#error-code').textContent(), 'ERR_LOGIN_OWNER_MISSING')
        assert.equal(
          await page.locator('#error-heading').textContent(),
          'Sign in with Example Bank A first',
        )
        await screenshot(page, 'portal-bank-b-owner-missing')

        // Signed in with bank A: bank B is a link.
        await logIn(page, example, 'query.jwt')
        await page.goto(`${example.portalUrl}/connect`)
        assert.equal(await page.getByRole('link', { name: 'Connect Example Bank B' }).count(), 1)
        assert.equal(await page.locator('#connect-bank-b-disabled').count(), 0)
        await context.close()
      },
    )

    test(
      'Unlink bank B from the account page (revoked at bank B, bank A stays); Log out then ends both banks',
      { timeout: TIMEOUT },
      async () => {
        const { context, page } = await newPage()
        const tokensRevoked = (from: number, bank: BankName) =>
          bankEvents
            .slice(from)
            .filter(
              (entry) =>
                entry.bank === bank &&
                entry.event.type === 'token-revoked' &&
                entry.event.clientId === 'portal',
            ).length
        const linkBankB = async () => {
          await page.goto(`${example.portalUrl}/connect`)
          await page.getByRole('link', { name: 'Connect Example Bank B' }).click()
          // Signed in at bank B already the second time: it may go straight back.
          await page.waitForURL(
            (url) => url.origin === example.portalUrl || url.origin === example.issuers['bank-b'],
          )
          if (new URL(page.url()).origin === example.issuers['bank-b']) {
            if ((await page.getByLabel('User name').count()) > 0) {
              await signIn(page, example, 'bank-b')
            }
            await consentIfAsked(page, example, 'allow')
          }
          await page.waitForURL(`${example.portalUrl}/account`)
          assert.equal(await page.locator('#linked-count').textContent(), '2')
        }
        await logIn(page, example, 'query.jwt')
        await linkBankB()
        assert.match(
          (await page.locator('#backchannel').textContent()) ?? '',
          /\/auth\/backchannel-logout/,
        )
        await screenshot(page, 'portal-account-two-banks')

        let from = bankEvents.length
        await page.getByRole('button', { name: 'Unlink Example Bank B' }).click()
        await page.waitForURL(`${example.portalUrl}/account?unlinked=bank-b`)
        assert.match(
          (await page.locator('#unlinked').textContent()) ?? '',
          /Example Bank B is no longer linked/,
        )
        assert.equal(await page.locator('#linked-count').textContent(), '1')
        assert.equal(await page.locator('#bank-b').count(), 0)
        assert.equal(await page.locator('#bank-a').count(), 1)
        assert.equal(tokensRevoked(from, 'bank-b'), 1, "bank B revoked the portal's token")
        assert.equal(tokensRevoked(from, 'bank-a'), 0, 'bank A untouched')
        await screenshot(page, 'portal-account-unlinked')

        // Linked again, then "Log out": both banks' tokens revoked before the bank's sign-out.
        await linkBankB()
        from = bankEvents.length
        await page.getByRole('button', { name: 'Log out' }).click()
        await page.waitForURL(`${example.issuer}/session/end**`)
        assert.equal(tokensRevoked(from, 'bank-a'), 1)
        assert.equal(tokensRevoked(from, 'bank-b'), 1)
        from = bankEvents.length
        await page.getByRole('button', { name: 'Yes, sign me out' }).click()
        await page.waitForURL(`${example.portalUrl}/signed-out`)
        assert.equal(
          await page.getByRole('heading', { level: 1 }).textContent(),
          'You are signed out',
        )
        // Bank A's sign-out posted its logout token too, and the portal accepted it (the grant
        // had ended already).
        assert.deepEqual(
          bankEvents.slice(from).filter((entry) => entry.event.type === 'backchannel-logout'),
          [
            {
              bank: 'bank-a',
              event: { type: 'backchannel-logout', clientId: 'portal', delivered: true },
            },
          ],
        )
        await page.goto(`${example.portalUrl}/connect`)
        assert.equal(await page.locator('#connect-bank-b-disabled').count(), 1, 'no bank linked')
        await context.close()
      },
    )

    test(
      'CSRF: a form on another site can neither create a payment consent nor log the user out',
      { timeout: TIMEOUT },
      async () => {
        const { context, page } = await newPage()
        await logIn(page, example, 'query.jwt')
        // The attacker's page, on 127.0.0.1: another site than the portal on localhost.
        const attacker = await attackerSite(example.portalUrl)
        try {
          const bankRequests: string[] = []
          page.on('request', (request) => {
            if (request.url().startsWith(example.issuers['bank-a']))
              bankRequests.push(request.url())
          })
          for (const [path, name] of [
            ['/connect/bank-a/payment', 'payment'],
            ['/auth/logout', 'logout'],
          ] as const) {
            const answer = page.waitForResponse(
              (response) => response.url() === `${example.portalUrl}${path}`,
            )
            await page.goto(`${attacker.origin}/${name}`)
            const response = await answer
            assert.equal((await response.request().allHeaders())['sec-fetch-site'], 'cross-site')
            assert.equal(response.status(), 403, `${path}: refused`)
            await page.locator('#error-code').waitFor()
            assert.equal(await page.locator('#error-code').textContent(), 'CROSS_SITE_REQUEST')
            assert.equal(await page.locator('#error-heading').textContent(), 'Request refused')
            await screenshot(page, `portal-csrf-${name}-refused`)
          }
          assert.deepEqual(bankRequests, [], 'no consent, no login, no sign-out at the bank')
          // Still signed in: the logout was refused too.
          await page.goto(`${example.portalUrl}/account`)
          assert.equal(await page.title(), 'Account · Example Portal')
        } finally {
          await attacker.close()
          await context.close()
        }
      },
    )

    test(
      "bank A bounds pending payment consents per user: a flood is refused, another user's consent stays",
      { timeout: TIMEOUT },
      async () => {
        const pay = (page: Page) =>
          page.request.post(`${example.portalUrl}/connect/bank-a/payment`, {
            headers: { origin: example.portalUrl },
            maxRedirects: 0,
          })
        const alice = await newPage()
        // Alice signs in with bank A (the identity server; a bank-B link needs an owner first).
        await alice.page.goto(`${example.portalUrl}/auth/login?server=bank-a&returnTo=%2Faccount`)
        await signIn(alice.page, example, 'bank-a', 'alice')
        await consentIfAsked(alice.page, example, 'allow')
        await alice.page.waitForURL(`${example.portalUrl}/account`)
        const alicesPayment = await pay(alice.page)
        assert.equal(alicesPayment.status(), 303)
        const alicesAuthorization = alicesPayment.headers().location ?? ''
        assert.ok(alicesAuthorization.startsWith(example.issuers['bank-a']), alicesAuthorization)

        // Bob has no consent yet (Alice may have one from the other tests).
        const bob = await newPage()
        await bob.page.goto(`${example.portalUrl}/auth/login?server=bank-a&returnTo=%2Faccount`)
        await signIn(bob.page, example, 'bank-a', 'bob')
        await consentIfAsked(bob.page, example, 'allow')
        await bob.page.waitForURL(`${example.portalUrl}/account`)
        const statuses: number[] = []
        for (let i = 0; i < 6; i += 1) statuses.push((await pay(bob.page)).status())
        assert.deepEqual(statuses, [303, 303, 303, 303, 303, 429])
        const refused = await pay(bob.page)
        assert.match(await refused.text(), /TOO_MANY_CONSENTS/)

        // Alice's consent was not evicted by Bob's: the bank still shows it for authorization.
        await alice.page.goto(alicesAuthorization)
        // Signed in at bank A already: the bank may go straight to its consent page.
        await alice.page.waitForURL(`${example.issuers['bank-a']}/interaction/**`)
        if ((await alice.page.getByLabel('User name').count()) > 0) {
          await signIn(alice.page, example, 'bank-a', 'alice')
        }
        const detail = alice.page.locator('li.detail')
        await detail.waitFor()
        assert.match((await detail.textContent()) ?? '', /10\.00 EUR to Example Shop/)
        await alice.context.close()
        await bob.context.close()
      },
    )

    test(
      "bank A's consent API refuses a call without a token, or with a token it did not issue",
      { timeout: TIMEOUT },
      async () => {
        const consents = `${example.issuers['bank-a']}/consents`
        const init = {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ amount: '10.00', currency: 'EUR' }),
        }
        const anonymous = await fetch(consents, init)
        assert.equal(anonymous.status, 401)
        const forged = await fetch(consents, {
          ...init,
          headers: { ...init.headers, authorization: 'Bearer not-a-token-of-this-bank' },
        })
        assert.equal(forged.status, 401)
        assert.match(forged.headers.get('www-authenticate') ?? '', /invalid_token/)
      },
    )

    test(
      "form_post.jwt with express-session's default cookie (no SameSite) and an old session",
      {
        timeout: TIMEOUT,
      },
      async () => {
        const defaults = await start({ sessionCookieSameSite: 'unset' })
        const { context, page } = await newPage()
        const callbacks = recordCallbacks(page, defaults)
        const logins = page.waitForResponse(`${defaults.portalUrl}/auth/login?**`)
        await logIn(page, defaults, 'form_post.jwt')
        const setCookie = (await (await logins).allHeaders())['set-cookie'] ?? ''
        assert.match(setCookie, /^portal\.sid=/)
        assert.doesNotMatch(setCookie, /samesite/i)
        await assertOnAccountPage(page, 'form_post.jwt')
        const [crossSite] = callbacks
        assert.equal(callbacks.length, 2)
        assert.equal(hasSessionCookie((await crossSite?.allHeaders())?.cookie), false)
        await screenshot(page, 'portal-login-form_post.jwt-default-cookie')
        await context.close()
      },
    )
  },
)
