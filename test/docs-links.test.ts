/**
 * The relative links of the README, CONTRIBUTING.md and docs/ resolve: to a file of the
 * repository, and, with a `#anchor` into a Markdown file, to one of its headings (as GitHub names
 * heading anchors). Pages move (the README's sections went to docs/guides/, the engineering records
 * to docs/engineering/); a link left behind fails here.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { posix } from 'node:path'
import { describe, test } from 'node:test'

const root = new URL('../', import.meta.url)

/** The Markdown files under `folder` (a path from the root, ending in /), at every depth. */
function markdownFiles(folder: string): string[] {
  return readdirSync(new URL(folder, root), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? markdownFiles(`${folder}${entry.name}/`)
      : entry.name.endsWith('.md')
        ? [`${folder}${entry.name}`]
        : [],
  )
}

/** Markdown without its fenced code blocks and code spans (links there are not links). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '')
}

/** The anchors GitHub gives the headings of `text`: lower case, punctuation dropped, spaces to -. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const match of text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = match[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** The links of `text` (the file `source`, a path from the root) that do not resolve. */
function brokenLinks(source: string, text: string, read: (path: string) => string | undefined) {
  const broken: string[] = []
  for (const match of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const link = match[1]!
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue
    const [path = '', anchor] = link.split('#')
    const target = path === '' ? source : posix.normalize(posix.join(posix.dirname(source), path))
    const content = path === '' ? text : read(target)
    if (content === undefined) {
      broken.push(`${source}: ${link} (no file ${target})`)
    } else if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(content).has(anchor)) {
      broken.push(`${source}: ${link} (${target} has no heading #${anchor})`)
    }
  }
  return broken
}

/** A file's text, '' for a directory, undefined when there is none. */
function readRepo(path: string): string | undefined {
  const url = new URL(path, root)
  if (!existsSync(url)) return undefined
  try {
    return readFileSync(url, 'utf8')
  } catch {
    return ''
  }
}

describe('the links of the README, CONTRIBUTING.md and docs/', () => {
  test('every relative link points to a file that exists, and its #anchor to a heading of it', () => {
    const files = ['README.md', 'CONTRIBUTING.md', ...markdownFiles('docs/')]
    assert.ok(files.length >= 6, files.join(' '))
    const broken = files.flatMap((file) => brokenLinks(file, readRepo(file)!, readRepo))
    assert.deepEqual(broken, [], broken.join('\n'))
  })

  test('a link to a missing file or heading is reported, a link in code is not', () => {
    const text = [
      '# Guide',
      '## The `core` and Connect: how?',
      'See [a](missing.md), [b](../README.md#no-such-heading), [c](#the-core-and-connect-how),',
      '[d](#guide), [e](https://example.com/x.md) and `[f](inline-code.md)`.',
      '```md',
      '[g](fenced.md)',
      '```',
    ].join('\n')
    const broken = brokenLinks('docs/guide.md', text, readRepo)
    assert.deepEqual(broken, [
      'docs/guide.md: missing.md (no file docs/missing.md)',
      'docs/guide.md: ../README.md#no-such-heading (README.md has no heading #no-such-heading)',
    ])
  })
})
