/**
 * The README's TypeScript examples compile against the real package types (STYLE 11): each block is
 * written to a git-ignored folder as a module, with declarations for the values the prose leaves
 * to the reader (a private JWK, the session secret, the app), and type-checked with the project's
 * compiler options.
 */
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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
]

function declares(block: string, name: string): boolean {
  return new RegExp(`(^|\\n)\\s*(import[^\\n]*\\b${name}\\b|(const|let|function) ${name}\\b)`).test(
    block,
  )
}

function moduleFor(block: string): string {
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
  return [...prelude, body.replace(/^ {2}/gm, ''), 'export {}', '']
    .join('\n')
    .replace(/from 'express-fapi'/g, "from '../src/index.js'")
}

after(() => rmSync(dir, { recursive: true, force: true }))

test('every TypeScript example in the README compiles against the package types', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8')
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
  assert.ok(blocks.length >= 5, `${blocks.length} examples`)
  mkdirSync(dir, { recursive: true })
  const files = blocks.map((block, index) => {
    const file = fileURLToPath(new URL(`example-${index}.ts`, dir))
    writeFileSync(file, moduleFor(block))
    return file
  })
  const program = ts.createProgram(files, {
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
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter(
      (diagnostic) => diagnostic.file === undefined || files.includes(diagnostic.file.fileName),
    )
    .map((diagnostic) => {
      const where = diagnostic.file
        ? `${diagnostic.file.fileName.slice(diagnostic.file.fileName.lastIndexOf('/') + 1)}:${
            diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1
          }`
        : ''
      return `${where} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`
    })
  assert.deepEqual(problems, [])
})
