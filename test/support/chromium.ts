/**
 * Debian's Chromium driven by playwright-core, for the browser tests: never a downloaded browser.
 * Without /usr/bin/chromium the browser tests skip with {@link chromiumMissing} (fail under CI).
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { chromium, type Browser, type Page } from 'playwright-core'
import { systemDependency } from './system.js'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** The skip reason when Chromium is not installed, or false. */
export const chromiumMissing: string | false = systemDependency(
  'chromium',
  existsSync(CHROMIUM_PATH),
  'the browser tests',
)

/**
 * Headless Chromium as this machine runs it (no sandbox as root, no background networking: the
 * network is closed). `SameSiteDefaultChecksMethodRigorously` turns off Chromium's two-minute
 * allowance for cookies without SameSite on cross-site POSTs, so every session behaves like one
 * that is older than two minutes.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--enable-features=SameSiteDefaultChecksMethodRigorously',
    ],
  })
}

const RESULTS = new URL('../../test-results/', import.meta.url)

/** Saves a full-page screenshot as `test-results/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(RESULTS, { recursive: true })
  // A background tab may not paint until it is in front (two-tab tests): bring it there first.
  await page.bringToFront()
  await page.screenshot({ path: new URL(`${name}.png`, RESULTS).pathname, fullPage: true })
}
