/**
 * System packages the suite uses (Debian's chromium, redis-server, openssl, glewlwyd, sqlite3):
 * a suite that needs a missing one is reported as skipped with the reason, never as passed; under
 * `CI=true` a missing package is a failure instead, so that CI cannot go green without running it.
 */
import { accessSync, constants } from 'node:fs'

/** Whether `path` is an executable file. */
export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The skip reason when the Debian package `pkg` is missing (`present` false), or false. Throws
 * under `CI=true`: there, a missing system dependency fails the suite.
 *
 * @example
 * ```ts
 * const missing = systemDependency('redis-server', executable('/usr/bin/redis-server'), 'the multi-instance tests')
 * describe('…', { skip: missing }, () => { … })
 * ```
 */
export function systemDependency(pkg: string, present: boolean, what: string): string | false {
  if (present) return false
  const reason = `${pkg} is not installed ("apt-get install ${pkg}"), so ${what} cannot run`
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`)
  return reason
}
