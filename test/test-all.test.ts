/**
 * `npm test` (scripts/test-all.ts): every step runs whatever failed before it, each prints its
 * summary, and the closing line adds up the node:test counts for CI.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { closingLine, countsOf, runAll, STEPS, type Step } from '../scripts/test-all.js'

/** A step that prints `output` (as a node:test run would) and exits with `code`. */
function fakeStep(name: string, output: string, code: number): Step {
  return {
    name,
    command: [
      process.execPath,
      '-e',
      `process.stdout.write(${JSON.stringify(output)}); process.exitCode = ${String(code)}`,
    ],
  }
}

/** A node:test TAP summary, as the child prints it (the `#` is built so no reporter reads it). */
function summary(pass: number, fail: number, skipped: number, cancelled = 0): string {
  const hash = String.fromCharCode(35)
  return [
    `${hash} tests ${String(pass + fail + skipped)}`,
    `${hash} pass ${String(pass)}`,
    `${hash} fail ${String(fail)}`,
    `${hash} cancelled ${String(cancelled)}`,
    `${hash} skipped ${String(skipped)}`,
    `${hash} todo 0`,
    '',
  ].join('\n')
}

test('npm test runs format, lint, typecheck, build, unit, browser and interop, in that order', () => {
  assert.deepEqual(
    STEPS.map(({ name }) => name),
    ['format', 'lint', 'typecheck', 'build', 'unit', 'browser', 'interop'],
  )
})

test('the counts are read from the top-level summary of TAP and spec output, not from subtests', () => {
  const indented = '    ' + summary(99, 99, 99).split('\n').join('\n    ')
  assert.deepEqual(countsOf(`${indented}\n${summary(5, 1, 2, 1)}`), {
    passed: 5,
    failed: 2,
    skipped: 2,
  })
  assert.deepEqual(countsOf('ℹ tests 4\nℹ pass 3\nℹ fail 1\nℹ skipped 0\n'), {
    passed: 3,
    failed: 1,
    skipped: 0,
  })
  assert.equal(countsOf('All matched files use Prettier code style!\n'), undefined)
})

test('a failing step does not stop the run; the closing line adds up every suite', async () => {
  const lines: string[] = []
  const results = await runAll(
    [
      fakeStep('lint', 'problems found\n', 1),
      fakeStep('unit', summary(10, 2, 1), 1),
      fakeStep('browser', summary(4, 0, 0), 0),
      fakeStep('interop', summary(0, 0, 3), 0),
    ],
    (text) => lines.push(text),
    false,
  )
  assert.deepEqual(
    results.map(({ name, exitCode }) => [name, exitCode]),
    [
      ['lint', 1],
      ['unit', 1],
      ['browser', 0],
      ['interop', 0],
    ],
  )
  const printed = lines.join('')
  assert.match(printed, /^browser +ok: 4 passed, 0 failed, 0 skipped/m)
  assert.match(printed, /^unit +FAILED \(exit 1\): 10 passed, 2 failed, 1 skipped/m)
  // lint failed without a failing test: it counts as one failure.
  const last = printed.trimEnd().split('\n').at(-1)
  assert.equal(last, '14 passed, 3 failed, 4 skipped')
  assert.equal(last, closingLine(results))
})

test('a green run closes with 0 failed', () => {
  assert.equal(
    closingLine([
      { name: 'format', exitCode: 0, counts: undefined, seconds: 1 },
      { name: 'unit', exitCode: 0, counts: { passed: 3, failed: 0, skipped: 1 }, seconds: 1 },
    ]),
    '3 passed, 0 failed, 1 skipped',
  )
})
