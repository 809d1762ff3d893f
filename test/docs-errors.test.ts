/**
 * docs/reference/errors.md is written from `ERROR_TABLE` by scripts/docs-errors.ts: the committed
 * page must be what the script writes now, so a new or changed code fails here until the page is
 * written again.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { ERROR_TABLE } from '../src/errors.js'
import {
  ERRORS_COMMAND,
  ERRORS_PAGE,
  classDocsOf,
  currentErrorsPage,
  renderErrorsPage,
} from '../scripts/docs-errors.js'
import { ERROR_NOTES } from '../scripts/error-notes.js'

const root = new URL('../', import.meta.url)
const committed = readFileSync(new URL(ERRORS_PAGE, root), 'utf8')
const classDocs = classDocsOf(readFileSync(new URL('src/errors.ts', root), 'utf8'))

/** The codes the page has a heading for, in its order. */
function headings(page: string): string[] {
  return [...page.matchAll(/^### `(ERR_[A-Z_]+)`$/gm)].map((match) => match[1]!)
}

describe('docs/reference/errors.md is generated from ERROR_TABLE', () => {
  test('the committed page is what the script writes from the current sources', async () => {
    const generated = await currentErrorsPage()
    assert.ok(
      generated === committed,
      `${ERRORS_PAGE} is out of date with ERROR_TABLE, the error classes or scripts/error-notes.ts: run \`${ERRORS_COMMAND}\` and commit the page`,
    )
  })

  test('the page has one heading per code of the table, with its class and status, and ERR_INVALID_CONFIG', () => {
    const codes = Object.keys(ERROR_TABLE)
    assert.ok(codes.length > 30, `${codes.length} codes`)
    assert.deepEqual(headings(committed).sort(), [...codes, 'ERR_INVALID_CONFIG'].sort())
    for (const [code, row] of Object.entries(ERROR_TABLE)) {
      const index = new RegExp(
        `^\\| \\[\`${code}\`\\]\\(#${code.toLowerCase()}\\) +\\| ${row.status} +\\| \`${row.kind}\` +\\|$`,
        'm',
      )
      assert.match(
        committed,
        index,
        `${code}: the index row states HTTP ${row.status}, ${row.kind}`,
      )
      const section = committed.slice(committed.indexOf(`### \`${code}\``))
      assert.ok(section.includes(`HTTP ${row.status}.`), code)
      assert.ok(section.includes(row.message), `${code}: its default message`)
      const note = ERROR_NOTES[code as keyof typeof ERROR_TABLE]
      if (note !== undefined) {
        const firstWords = note.split(' ').slice(0, 4).join(' ')
        assert.ok(section.includes(firstWords), `${code}: its note`)
      }
    }
  })

  test('a code added to the table without writing the page again fails the check', async () => {
    const table = {
      ...ERROR_TABLE,
      ERR_EXAMPLE_ADDED: { kind: 'SessionError', status: 409, message: 'an example row' },
    }
    const page = await renderErrorsPage({ table, notes: ERROR_NOTES, classDocs })
    assert.notEqual(page, committed)
    assert.ok(headings(page).includes('ERR_EXAMPLE_ADDED'))
    assert.ok(!headings(committed).includes('ERR_EXAMPLE_ADDED'))
    assert.match(page, /### `ERR_EXAMPLE_ADDED`\n\nHTTP 409\. Default message: `an example row`/)
  })

  test('a changed status or message changes the page', async () => {
    const changed = {
      ...ERROR_TABLE,
      ERR_TRANSACTION_EXPIRED: { ...ERROR_TABLE.ERR_TRANSACTION_EXPIRED, status: 410 },
    }
    const page = await renderErrorsPage({ table: changed, notes: ERROR_NOTES, classDocs })
    assert.notEqual(page, committed)
    assert.match(page, /\| \[`ERR_TRANSACTION_EXPIRED`\]\(#err_transaction_expired\) +\| 410 +\|/)
  })

  test('a note for a code the table lacks, or a class without TSDoc, stops the script', async () => {
    await assert.rejects(
      renderErrorsPage({
        table: ERROR_TABLE,
        notes: { ...ERROR_NOTES, ERR_NO_SUCH_CODE: 'text' },
        classDocs,
      }),
      /note for ERR_NO_SUCH_CODE, which ERROR_TABLE lacks/,
    )
    const undocumented = new Map(classDocs)
    undocumented.delete('IdTokenError')
    await assert.rejects(
      renderErrorsPage({ table: ERROR_TABLE, notes: ERROR_NOTES, classDocs: undocumented }),
      /class IdTokenError in src\/errors\.ts has no TSDoc/,
    )
  })
})
