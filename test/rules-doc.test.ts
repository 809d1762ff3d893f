import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { test } from 'node:test'

const root = new URL('../', import.meta.url)

function testSources(dir: URL): string {
  let text = ''
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) text += testSources(new URL(`${entry.name}/`, dir))
    else if (entry.name.endsWith('.ts')) text += readFileSync(new URL(entry.name, dir), 'utf8')
  }
  return text
}

test('docs/engineering/rules.md quotes only tests that exist, and every row names a test or a reason', () => {
  const doc = readFileSync(new URL('docs/engineering/rules.md', root), 'utf8')
  const sources = testSources(new URL('test/', root))
  const rows = doc.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| rule'))
  const body = rows.filter((line) => !/^\|[\s-|]+$/.test(line))
  assert.ok(body.length > 40, `${body.length} rule rows`)
  let quoted = 0
  for (const row of body) {
    const tests = row.split(' | ')[1] ?? ''
    const names = [...tests.matchAll(/`([^`]+)`/g)]
      .map((match) => match[1] ?? '')
      .filter(
        (name) => !name.startsWith('test/') && !name.startsWith('/') && !name.startsWith('ERR_'),
      )
      .filter((name) => / /.test(name))
    if (names.length === 0) {
      assert.match(
        tests,
        /not (yet|applicable)|by design|section|tests in|with JARM|nonces are/,
        row,
      )
    }
    for (const name of names) {
      quoted += 1
      assert.ok(
        sources.includes(name),
        `docs/engineering/rules.md quotes a test that does not exist: "${name}"`,
      )
    }
  }
  assert.ok(quoted > 80, `${quoted} quoted tests`)
})
