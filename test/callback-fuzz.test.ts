import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fuzzCallback } from './support/callback-fuzz.js'

// The full run (>= 100,000 cases) is `npm run fuzz`; every build runs a smaller sample.
test('fuzzed callback input: always a 4xx with a code, never a 5xx, a token request or a crash', async () => {
  const report = await fuzzCallback({ runs: Number(process.env.FUZZ_RUNS ?? 400) })
  assert.ok(report.cases >= 1)
  assert.equal(report.tokenRequests, 0)
  assert.equal(report.unexpectedErrors, 0)
  assert.equal(report.unhandledRejections, 0)
  assert.equal(report.byCode.none, undefined)
})
