/**
 * A SoftHSM2 token for one test file: a configuration and a token directory in a fresh temporary
 * directory (`SOFTHSM2_CONF` points there, so the machine's tokens are never touched), a token
 * initialised with `softhsm2-util`, and the directory removed afterwards.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { executable, systemDependency } from './system.js'

/** Debian's SoftHSM2 PKCS#11 module. */
export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so'
const SOFTHSM_UTIL = '/usr/bin/softhsm2-util'

/** The skip reason when softhsm2 is missing (a failure under CI=true), or false. */
export function softhsmMissing(): string | false {
  return systemDependency(
    'softhsm2',
    executable(SOFTHSM_UTIL) && existsSync(SOFTHSM_LIBRARY),
    'the PKCS#11 signer tests',
  )
}

export interface SoftToken {
  readonly library: string
  readonly label: string
  readonly pin: string
  /** Removes the token directory. */
  remove(): void
}

/** Initialises a token in a temporary directory; sets `SOFTHSM2_CONF` for this process. */
export function createSoftToken(): SoftToken {
  const dir = mkdtempSync(join(tmpdir(), 'express-fapi-softhsm-'))
  const tokens = join(dir, 'tokens')
  mkdirSync(tokens)
  const conf = join(dir, 'softhsm2.conf')
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  )
  process.env.SOFTHSM2_CONF = conf
  const label = 'express-fapi-test'
  const pin = randomBytes(6).toString('hex')
  const soPin = randomBytes(6).toString('hex')
  execFileSync(
    SOFTHSM_UTIL,
    ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin],
    { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' },
  )
  return {
    library: SOFTHSM_LIBRARY,
    label,
    pin,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
