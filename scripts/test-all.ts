/**
 * `npm test`: every check and every suite, one after the other, whatever fails on the way:
 * format, lint, types, build, then the unit, browser and interop suites. Each step's output is
 * shown as it runs, then its summary; the run fails at the end if any step failed.
 *
 * The last line is for CI to read: `N passed, N failed, N skipped`, the node:test counts of all
 * suites added up. A step that fails with no failing test (format, lint, types, build, or a
 * suite that crashed) counts as one failure, so the line never says `0 failed` of a failed run.
 *
 * `node --import tsx scripts/test-all.ts unit browser` runs only the steps named.
 */
import { spawn } from 'node:child_process'
import { pathToFileURL } from 'node:url'

/** One step: a name and the command that runs it. */
export interface Step {
  readonly name: string
  readonly command: readonly [string, ...string[]]
}

/** The node:test counts of a step's output (TAP `# pass N` or spec `ℹ pass N` summary lines). */
export interface Counts {
  passed: number
  failed: number
  skipped: number
}

/** What a step ended with. */
export interface StepResult {
  readonly name: string
  readonly exitCode: number
  /** The node:test counts, when the step ran tests. */
  readonly counts: Counts | undefined
  readonly seconds: number
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

export const STEPS: readonly Step[] = [
  { name: 'format', command: [NPM, 'run', '--silent', 'format:check'] },
  { name: 'lint', command: [NPM, 'run', '--silent', 'lint'] },
  { name: 'typecheck', command: [NPM, 'run', '--silent', 'typecheck'] },
  { name: 'build', command: [NPM, 'run', '--silent', 'build'] },
  { name: 'unit', command: [NPM, 'run', '--silent', 'test:unit'] },
  { name: 'browser', command: [NPM, 'run', '--silent', 'test:browser'] },
  { name: 'interop', command: [NPM, 'run', '--silent', 'test:interop'] },
]

/**
 * The summary counts of node:test output: the top-level (unindented) summary lines. Cancelled
 * tests count as failed, todo ones as skipped. `undefined` when the output has no summary.
 */
export function countsOf(output: string): Counts | undefined {
  const found = new Map<string, number>()
  for (const match of output.matchAll(/^(?:#|ℹ) (pass|fail|cancelled|skipped|todo) (\d+)\s*$/gmu)) {
    const [, name = '', value = '0'] = match
    found.set(name, (found.get(name) ?? 0) + Number(value))
  }
  if (!found.has('pass') && !found.has('fail')) return undefined
  const count = (name: string) => found.get(name) ?? 0
  return {
    passed: count('pass'),
    failed: count('fail') + count('cancelled'),
    skipped: count('skipped') + count('todo'),
  }
}

/** Runs one step, its output shown as it comes; resolves with its exit code and counts. */
export function runStep(step: Step, echo = true): Promise<StepResult> {
  const started = performance.now()
  return new Promise((resolve) => {
    const [command, ...args] = step.command
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (echo) process.stdout.write(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (echo) process.stderr.write(chunk)
    })
    const done = (exitCode: number) =>
      resolve({
        name: step.name,
        exitCode,
        counts: countsOf(output),
        seconds: Math.round((performance.now() - started) / 100) / 10,
      })
    child.on('error', (error) => {
      process.stderr.write(`${step.name}: ${error.message}\n`)
      done(127)
    })
    child.on('close', (code, signal) => done(code ?? (signal === null ? 1 : 128)))
  })
}

/** A step's summary line. */
export function stepLine(result: StepResult): string {
  const verdict = result.exitCode === 0 ? 'ok' : `FAILED (exit ${String(result.exitCode)})`
  const counts =
    result.counts === undefined
      ? ''
      : `: ${String(result.counts.passed)} passed, ${String(result.counts.failed)} failed, ${String(result.counts.skipped)} skipped`
  return `${result.name.padEnd(10)} ${verdict}${counts} (${String(result.seconds)} s)`
}

/** The closing line: the node:test counts of every step added up (see the module comment). */
export function closingLine(results: readonly StepResult[]): string {
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const result of results) {
    passed += result.counts?.passed ?? 0
    skipped += result.counts?.skipped ?? 0
    const testFailures = result.counts?.failed ?? 0
    failed += result.exitCode !== 0 && testFailures === 0 ? 1 : testFailures
  }
  return `${String(passed)} passed, ${String(failed)} failed, ${String(skipped)} skipped`
}

/** Runs the steps in order, each whatever the others did; prints the summaries. */
export async function runAll(
  steps: readonly Step[],
  write: (text: string) => void = (text) => process.stdout.write(text),
  echo = true,
): Promise<readonly StepResult[]> {
  const results: StepResult[] = []
  for (const step of steps) {
    write(`\n=== ${step.name}: ${step.command.join(' ')}\n`)
    const result = await runStep(step, echo)
    write(`=== ${stepLine(result)}\n`)
    results.push(result)
  }
  write('\n=== summary\n')
  for (const result of results) write(`${stepLine(result)}\n`)
  write(`${closingLine(results)}\n`)
  return results
}

async function main(names: readonly string[]): Promise<void> {
  const unknown = names.filter((name) => !STEPS.some((step) => step.name === name))
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown step ${unknown.join(', ')}: the steps are ${STEPS.map(({ name }) => name).join(', ')}\n`,
    )
    process.exitCode = 2
    return
  }
  const steps = names.length === 0 ? STEPS : STEPS.filter((step) => names.includes(step.name))
  const results = await runAll(steps)
  process.exitCode = results.every((result) => result.exitCode === 0) ? 0 : 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2))
}
