import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { posix } from 'node:path'
import { describe, test } from 'node:test'

/**
 * The layers of src/ (docs: DESIGN.md, "Layers"): arrows point one way, adapters -> core ->
 * config/errors. Read from the import statements of every file, type-only imports included.
 */

const src = new URL('../src/', import.meta.url)

/** Every `.ts` file under src/, as a path relative to src/ (`core/jwt/jws.ts`). */
function sourceFiles(dir = ''): string[] {
  const files: string[] = []
  for (const entry of readdirSync(new URL(dir, src), { withFileTypes: true })) {
    if (entry.isDirectory()) files.push(...sourceFiles(`${dir}${entry.name}/`))
    else if (entry.name.endsWith('.ts')) files.push(`${dir}${entry.name}`)
  }
  return files.sort()
}

interface Import {
  /** What the statement names: `./x.js`, `express`, … */
  readonly specifier: string
  /** The file it resolves to, relative to src/, for a relative import. */
  readonly target: string | undefined
  readonly line: number
}

/**
 * The static imports and re-exports of a file: `import … from`, `import type … from`,
 * `import '…'`, `export … from`, `export type … from`. Comments are blanked first (keeping line
 * numbers), so an example in TSDoc is not read as an import.
 */
function importsOf(file: string, text: string): Import[] {
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (comment) =>
    comment.replace(/[^\n]/g, ' '),
  )
  const statement =
    /^[ \t]*(?:import|export)\b(?:[^'";]*?\bfrom\s*)?['"]([^'"]+)['"]|^[ \t]*import\s*['"]([^'"]+)['"]/gm
  const found: Import[] = []
  for (const match of code.matchAll(statement)) {
    const specifier = match[1] ?? match[2] ?? ''
    const line = code.slice(0, match.index).split('\n').length
    const target = specifier.startsWith('.')
      ? posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts')
      : undefined
    found.push({ specifier, target, line })
  }
  return found
}

const files = sourceFiles()
const graph = new Map(
  files.map((file) => [file, importsOf(file, readFileSync(new URL(file, src), 'utf8'))]),
)

type Layer = 'core' | 'config' | 'errors' | 'adapter'

/** core/ and config/ by folder, errors.ts alone; every other file in src/ is an adapter. */
function layerOf(file: string): Layer {
  if (file.startsWith('core/')) return 'core'
  if (file.startsWith('config/')) return 'config'
  if (file === 'errors.ts') return 'errors'
  return 'adapter'
}

/** What each layer may import from (besides itself). */
const ALLOWED: Readonly<Record<Layer, readonly Layer[]>> = {
  adapter: ['adapter', 'core', 'config', 'errors'],
  core: ['core', 'config', 'errors'],
  config: ['config', 'errors'],
  errors: ['errors'],
}

const FRAMEWORKS = new Set(['express', 'express-session', 'connect'])

function where(file: string, entry: Import): string {
  return `src/${file}:${entry.line} imports '${entry.specifier}'`
}

/** Every import cycle, each as the chain of files that closes it (`a.ts -> b.ts -> a.ts`). */
function cycles(): string[][] {
  const found: string[][] = []
  const seen = new Set<string>()
  const cycleKeys = new Set<string>()
  const visit = (file: string, stack: string[]): void => {
    const at = stack.indexOf(file)
    if (at !== -1) {
      const cycle = [...stack.slice(at), file]
      // One report per cycle, whichever file the walk entered it by.
      const key = [...cycle.slice(1)].sort().join(' ')
      if (!cycleKeys.has(key)) {
        cycleKeys.add(key)
        found.push(cycle)
      }
      return
    }
    if (seen.has(file)) return
    stack.push(file)
    for (const entry of graph.get(file) ?? []) {
      if (entry.target !== undefined && graph.has(entry.target)) visit(entry.target, stack)
    }
    stack.pop()
    seen.add(file)
  }
  for (const file of files) visit(file, [])
  return found
}

/** The first import of `from` that names `to`, to print a chain with line numbers. */
function edge(from: string, to: string): string {
  const entry = graph.get(from)?.find((candidate) => candidate.target === to)
  return entry === undefined ? `src/${from}` : `src/${from}:${entry.line}`
}

describe('src/ is layered: adapters -> core -> config/errors', () => {
  test('the reader sees the tree (every relative import resolves to a file in src/)', () => {
    assert.ok(files.length > 30, `${files.length} files`)
    assert.ok(files.some((file) => file.startsWith('core/')))
    assert.ok(files.some((file) => file.startsWith('config/')))
    const unresolved = [...graph].flatMap(([file, entries]) =>
      entries
        .filter((entry) => entry.target !== undefined && !graph.has(entry.target))
        .map((entry) => where(file, entry)),
    )
    assert.deepEqual(unresolved, [], 'relative imports that name no .ts file in src/')
    const relative = [...graph.values()].flat().filter((entry) => entry.target !== undefined)
    assert.ok(relative.length > 100, `${relative.length} relative imports`)
  })

  test('no import cycle between files (type-only imports count)', () => {
    const chains = cycles().map((cycle) =>
      cycle
        .map((file, index) => {
          const next = cycle[index + 1]
          return next === undefined ? `src/${file}` : edge(file, next)
        })
        .join(' -> '),
    )
    assert.deepEqual(chains, [], `import cycles:\n${chains.join('\n')}`)
  })

  test('core/ and config/ never import an adapter; config/ never imports core/', () => {
    const wrong: string[] = []
    for (const [file, entries] of graph) {
      const layer = layerOf(file)
      for (const entry of entries) {
        if (entry.target === undefined) continue
        const to = layerOf(entry.target)
        if (!ALLOWED[layer].includes(to)) {
          wrong.push(`${where(file, entry)} (${layer} -> ${to}: src/${entry.target})`)
        }
      }
    }
    assert.deepEqual(wrong, [], `imports against the layers:\n${wrong.join('\n')}`)
  })

  test('core/, config/ and errors.ts never import express, express-session or connect', () => {
    const wrong: string[] = []
    for (const [file, entries] of graph) {
      if (layerOf(file) === 'adapter') continue
      for (const entry of entries) {
        const name = entry.specifier.startsWith('@')
          ? entry.specifier.split('/').slice(0, 2).join('/')
          : entry.specifier.split('/')[0]
        if (name !== undefined && FRAMEWORKS.has(name)) wrong.push(where(file, entry))
      }
    }
    assert.deepEqual(wrong, [], `framework imports below the adapters:\n${wrong.join('\n')}`)
  })
})
