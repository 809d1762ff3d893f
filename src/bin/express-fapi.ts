#!/usr/bin/env node
/**
 * The `express-fapi` command (`npx express-fapi keys`). Exit codes: 0 done, 2 a mistake in the
 * command line (one line on stderr saying what), 1 anything else (one line, no stack trace).
 */
import { KEYS_USAGE, UsageError, keysCommand } from './keys.js'

const USAGE = `Usage: express-fapi <command>

Commands:
  keys   make a private signing key (JWK) and its public JWKS

${KEYS_USAGE}`

/** Runs the command line `args` (without `node` and the script); resolves with the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const print = (text: string): void => void process.stdout.write(text)
  const [command, ...rest] = args
  try {
    if (command === 'keys') {
      await keysCommand(rest, print)
      return 0
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      print(USAGE)
      return 0
    }
    throw new UsageError(
      command === undefined
        ? 'a command is needed: express-fapi keys (see express-fapi --help)'
        : `unknown command "${command}": the command is keys (see express-fapi --help)`,
    )
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`express-fapi: ${error.message}`)
      return 2
    }
    // Not the error object itself: its properties could carry what was being written.
    console.error(`express-fapi: failed: ${error instanceof Error ? error.name : 'error'}`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
