/**
 * Writes docs/reference/errors.md from `ERROR_TABLE` (class, HTTP status, default message of each
 * code), the TSDoc of the error classes in src/errors.ts, and the notes of scripts/error-notes.ts.
 * The page is never edited by hand: `npm run docs:errors` after a change to any of those, and
 * test/docs-errors.test.ts checks that the committed page is what this script writes.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as prettier from 'prettier'
import ts from 'typescript'
import { ERROR_TABLE } from '../src/errors.js'
import { ERROR_NOTES } from './error-notes.js'

const root = new URL('../', import.meta.url)

/** Where the page lives, from the repository root. */
export const ERRORS_PAGE = 'docs/reference/errors.md'

/** The command that writes the page, for messages. */
export const ERRORS_COMMAND = 'npm run docs:errors'

export interface ErrorRowInput {
  readonly kind: string
  readonly status: number
  readonly message: string
}

export interface ErrorsPageInput {
  /** Code → row, in the table's order. */
  readonly table: Readonly<Record<string, ErrorRowInput>>
  /** Code → Markdown note. */
  readonly notes: Readonly<Record<string, string | undefined>>
  /** Class name → its TSDoc text, as Markdown. */
  readonly classDocs: ReadonlyMap<string, string>
}

/** The code of configuration mistakes: thrown at startup, so it has no row in `ERROR_TABLE`. */
const CONFIG_CODE = 'ERR_INVALID_CONFIG'
const CONFIG_CLASS = 'FapiConfigError'

/** TSDoc text as Markdown: `{@link X}` and `{@link X | text}` become code spans. */
function tsdocToMarkdown(text: string): string {
  return text
    .replace(/\{@link\s+([^}\s|]+)(?:\s*\|?\s*([^}]*))?\}/g, (_, target: string, label: string) =>
      label ? label.trim() : `\`${target}\``,
    )
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s*\n\s*/g, ' ').trim())
    .filter((paragraph) => paragraph !== '')
    .join('\n\n')
}

/** The TSDoc text (without tags) of each class declared in `source`, by class name. */
export function classDocsOf(source: string): Map<string, string> {
  const file = ts.createSourceFile('errors.ts', source, ts.ScriptTarget.Latest, true)
  const docs = new Map<string, string>()
  for (const statement of file.statements) {
    if (!ts.isClassDeclaration(statement) || statement.name === undefined) continue
    const text = ts
      .getJSDocCommentsAndTags(statement)
      .filter(ts.isJSDoc)
      .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '')
      .join('\n\n')
    if (text.trim() !== '') docs.set(statement.name.text, tsdocToMarkdown(text))
  }
  return docs
}

/** A default message as a Markdown code span: the text exactly as `err.message` has it. */
function literal(message: string): string {
  const fence = message.includes('`') ? '``' : '`'
  return `${fence}${message}${fence}`
}

/** The heading anchor GitHub gives `### \`CODE\``. */
function anchor(code: string): string {
  return `#${code.toLowerCase()}`
}

/** The page, formatted as the repository's Prettier configuration formats Markdown. */
export async function renderErrorsPage(input: ErrorsPageInput): Promise<string> {
  const codes = Object.keys(input.table)
  for (const code of Object.keys(input.notes)) {
    if (!codes.includes(code)) {
      throw new Error(`scripts/error-notes.ts has a note for ${code}, which ERROR_TABLE lacks`)
    }
  }
  const kinds = [...new Set(codes.map((code) => input.table[code]!.kind))]
  for (const kind of [...kinds, CONFIG_CLASS]) {
    if (!input.classDocs.has(kind)) {
      throw new Error(`the class ${kind} in src/errors.ts has no TSDoc to introduce its codes`)
    }
  }

  const lines: string[] = [
    '# Error codes',
    '',
    `<!-- Written by \`${ERRORS_COMMAND}\` from ERROR_TABLE and the error classes in src/errors.ts and the notes in scripts/error-notes.ts: edit those, then run it. -->`,
    '',
    'Request-time failures reach `next(err)` as a `FapiError` or one of its subclasses, with a stable `code`, an HTTP `status` and, where there is one, a `cause`. A message names the claim, parameter or setting to check; it never contains a token, an authorization code or a key, and neither does the `cause`. `isFapiError(err)` tells them apart from other errors and lets a check of `code` narrow `err` to its class. The message below is the default: a throw site that knows more says more.',
    '',
    `Configuration mistakes are not request-time failures: \`fapiClient()\` throws them at startup (see [\`${CONFIG_CODE}\`](${anchor(CONFIG_CODE)})).`,
    '',
    '| code | HTTP status | class |',
    '| --- | --- | --- |',
    ...codes.map((code) => {
      const row = input.table[code]!
      return `| [\`${code}\`](${anchor(code)}) | ${row.status} | \`${row.kind}\` |`
    }),
    `| [\`${CONFIG_CODE}\`](${anchor(CONFIG_CODE)}) | thrown at startup | \`${CONFIG_CLASS}\` |`,
    '',
  ]
  for (const kind of kinds) {
    lines.push(`## \`${kind}\``, '', input.classDocs.get(kind)!, '')
    if (kind === 'FapiError') {
      lines.push('The codes below are carried by `FapiError` itself.', '')
    }
    for (const code of codes.filter((each) => input.table[each]!.kind === kind)) {
      const row = input.table[code]!
      lines.push(
        `### \`${code}\``,
        '',
        `HTTP ${row.status}. Default message: ${literal(row.message)}`,
        '',
      )
      const note = input.notes[code]
      if (note !== undefined) lines.push(note, '')
    }
  }
  lines.push(
    `## \`${CONFIG_CLASS}\``,
    '',
    input.classDocs.get(CONFIG_CLASS)!,
    '',
    `### \`${CONFIG_CODE}\``,
    '',
    `A \`TypeError\` whose \`code\` is \`${CONFIG_CODE}\`, thrown by \`fapiClient()\` (and \`fapiClients()\`) at startup, never at request time. Its message names the option and what to change.`,
    '',
  )
  const options = (await prettier.resolveConfig(fileURLToPath(new URL(ERRORS_PAGE, root)))) ?? {}
  return prettier.format(lines.join('\n'), { ...options, parser: 'markdown' })
}

/** The page as the current sources give it. */
export async function currentErrorsPage(): Promise<string> {
  const source = readFileSync(new URL('src/errors.ts', root), 'utf8')
  return renderErrorsPage({
    table: ERROR_TABLE,
    notes: ERROR_NOTES,
    classDocs: classDocsOf(source),
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(new URL(ERRORS_PAGE, root), await currentErrorsPage())
  console.log(`wrote ${ERRORS_PAGE}`)
}
