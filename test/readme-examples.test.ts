/**
 * The TypeScript examples of the README and of every Markdown file under docs/ compile against the
 * real package types (STYLE 11): each block is written to a git-ignored folder as a module, with
 * declarations for the values the prose leaves to the reader (a private JWK, the session secret,
 * the app), and type-checked with the project's compiler options, all in one program.
 */
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import ts from 'typescript'

const root = new URL('../', import.meta.url)
const dir = new URL('.readme-check/', root)

/** What an example may use without defining it, and how it is declared if it does not. */
const PRELUDE: ReadonlyArray<readonly [string, string]> = [
  ['express', "import express from 'express'"],
  ['session', "import session from 'express-session'"],
  ['readFileSync', "import { readFileSync } from 'node:fs'"],
  ['fapiClient', "import { fapiClient } from 'express-fapi'"],
  ['errorHandler', "import { errorHandler } from 'express-fapi'"],
  ['JWK', "import type { JWK } from 'jose'"],
  ['privateJwk', 'declare const privateJwk: JWK & { kid: string }'],
  ['privateEncryptionJwk', 'declare const privateEncryptionJwk: JWK & { kid: string }'],
  ['rsaPrivateJwk', 'declare const rsaPrivateJwk: JWK & { kid: string }'],
  ['secret', 'declare const secret: string'],
  ['store', "declare const store: import('express-session').Store"],
  ['options', "declare const options: import('express-fapi').FapiClientOptions"],
  ['app', 'declare const app: ReturnType<typeof express>'],
  ['auth', 'declare const auth: ReturnType<typeof fapiClient>'],
  ['cert', 'declare const cert: string'],
  ['key', 'declare const key: string'],
  ['ca', 'declare const ca: string'],
]

function declares(block: string, name: string): boolean {
  return new RegExp(`(^|\\n)\\s*(import[^\\n]*\\b${name}\\b|(const|let|function) ${name}\\b)`).test(
    block,
  )
}

/** A module for `block`, and the number of prelude lines before the block's first line. */
function moduleFor(block: string): { readonly text: string; readonly offset: number } {
  const needed = new Set<string>()
  const add = (name: string): void => {
    if (needed.has(name) || declares(block, name)) return
    needed.add(name)
    // Declarations use other prelude names (JWK, express, fapiClient).
    const line = PRELUDE.find(([key]) => key === name)?.[1] ?? ''
    for (const [other] of PRELUDE)
      if (other !== name && new RegExp(`\\b${other}\\b`).test(line)) add(other)
  }
  for (const [name] of PRELUDE) if (new RegExp(`\\b${name}\\b`).test(block)) add(name)
  const prelude = PRELUDE.filter(([name]) => needed.has(name)).map(([, line]) => line)
  const body = block.replace(/from 'express-fapi'/g, "from '../src/index.js'")
  const text = [...prelude, body.replace(/^ {2}/gm, ''), 'export {}', '']
    .join('\n')
    .replace(/from 'express-fapi'/g, "from '../src/index.js'")
    .replace(/from 'express-fapi\/core'/g, "from '../src/core/index.js'")
    .replace(/from 'express-fapi\/testing'/g, "from '../src/testing.js'")
    .replace(/import\('express-fapi'\)/g, "import('../src/index.js')")
  return { text, offset: prelude.length }
}

/** One TypeScript block of a Markdown file: where it is (the file, the line of its first line). */
interface Example {
  readonly source: string
  readonly line: number
  readonly block: string
}

/** The ```ts (or ```typescript) blocks of the Markdown file `source` (a path from the root). */
function examplesOf(source: string): Example[] {
  const text = readFileSync(new URL(source, root), 'utf8')
  return [...text.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)].map((match) => ({
    source,
    line: text.slice(0, match.index).split('\n').length + 1,
    block: match[1] ?? '',
  }))
}

/** The Markdown files under `folder` (a path from the root, ending in /), at every depth. */
function markdownFiles(folder: string): string[] {
  return readdirSync(new URL(folder, root), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) =>
      entry.isDirectory()
        ? markdownFiles(`${folder}${entry.name}/`)
        : entry.name.endsWith('.md')
          ? [`${folder}${entry.name}`]
          : [],
    )
}

/** An example that must not compile: it shows that the check reports a wrong example. */
const CANARY: Example = {
  source: 'the canary',
  line: 1,
  block: "const port: number = 'eighty'\nexport { port }\n",
}

const README_EXAMPLES = examplesOf('README.md')
const DOCS_EXAMPLES = markdownFiles('docs/').flatMap(examplesOf)

after(() => rmSync(dir, { recursive: true, force: true }))

let checked: Map<Example, string[]> | undefined

/**
 * Type-checks every example (the README's, docs/'s and the canary) in one program; the problems
 * of each, as "file:line message" with the line in its Markdown file.
 */
function problemsByExample(): Map<Example, string[]> {
  if (checked !== undefined) return checked
  const examples = [...README_EXAMPLES, ...DOCS_EXAMPLES, CANARY]
  mkdirSync(dir, { recursive: true })
  const files = new Map<string, { example: Example; offset: number }>()
  examples.forEach((example, index) => {
    const file = fileURLToPath(new URL(`example-${index}.ts`, dir))
    const { text, offset } = moduleFor(example.block)
    writeFileSync(file, text)
    files.set(file, { example, offset })
  })
  const program = ts.createProgram([...files.keys()], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    noEmit: true,
  })
  checked = new Map(examples.map((example) => [example, []]))
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    const at = diagnostic.file === undefined ? undefined : files.get(diagnostic.file.fileName)
    if (diagnostic.file === undefined) {
      for (const problems of checked.values()) problems.push(message)
    } else if (at !== undefined) {
      const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line
      const where =
        line < at.offset
          ? `${at.example.source}:${at.example.line} (the declarations before this example)`
          : `${at.example.source}:${at.example.line + line - at.offset}`
      checked.get(at.example)!.push(`${where} ${message}`)
    }
  }
  return checked
}

function problemsOf(examples: readonly Example[]): string[] {
  const byExample = problemsByExample()
  return examples.flatMap((example) => byExample.get(example) ?? [])
}

test('every TypeScript example in the README compiles against the package types', () => {
  assert.ok(README_EXAMPLES.length >= 1, `${README_EXAMPLES.length} examples (the quick start)`)
  assert.deepEqual(problemsOf(README_EXAMPLES), [])
})

test('every TypeScript example in docs/ compiles against the package types', () => {
  assert.ok(DOCS_EXAMPLES.length >= 20, `${DOCS_EXAMPLES.length} examples in docs/`)
  assert.deepEqual(problemsOf(DOCS_EXAMPLES), [])
})

test('an example that does not compile is reported with its file and line', () => {
  const problems = problemsOf([CANARY])
  assert.equal(problems.length, 1, problems.join('\n'))
  assert.match(problems[0]!, /^the canary:1 Type 'string' is not assignable to type 'number'/)
})
