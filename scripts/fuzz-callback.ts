/**
 * The long fuzz run: `npm run fuzz` (100,000 cases by default; `FUZZ_RUNS=n` to change).
 * Prints the counts by HTTP status and error code.
 */
import { fuzzCallback } from '../test/support/callback-fuzz.js'

const runs = Number(process.env.FUZZ_RUNS ?? 100_000)
const started = process.hrtime.bigint()
const report = await fuzzCallback({ runs })
const seconds = Number(process.hrtime.bigint() - started) / 1e9
console.log(JSON.stringify({ ...report, seconds: Math.round(seconds) }, null, 2))
