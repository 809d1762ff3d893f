import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { isDeepStrictEqual } from 'node:util'
import { resolveConfig, type FapiClientOptions } from '../src/config/index.js'
import { DEFAULTS, type IntegerOption, type ProfileDefaults } from '../src/config/defaults.js'
import type { Profile } from '../src/config/options.js'
import { resolveProfile } from '../src/config/profiles.js'
import { generateJwks } from './support/keys.js'

const root = new URL('../', import.meta.url)
const OPTIONS_PAGE = readFileSync(new URL('docs/reference/options.md', root), 'utf8')
const OPTIONS_TS = readFileSync(new URL('src/config/options.ts', root), 'utf8')

const { privateJwk } = await generateJwks('PS256', 'rsa-1')
const required: FapiClientOptions = {
  issuer: 'https://as.example.test',
  clientId: 'portal',
  redirectUri: 'https://portal.example.test/auth/callback',
  keys: { signing: [privateJwk] },
}

const PROFILES = Object.keys(DEFAULTS.byProfile) as Profile[]
const INTEGER_OPTIONS = Object.keys(DEFAULTS.bounds) as IntegerOption[]
const PER_PROFILE = Object.keys(DEFAULTS.byProfile.oidc) as (keyof ProfileDefaults)[]
/** The options with one default whatever the profile (`bounds` and `byProfile` are not options). */
const FLAT = Object.keys(DEFAULTS).filter(
  (key) => key !== 'bounds' && key !== 'byProfile',
) as (keyof typeof DEFAULTS)[]

/** What the docs may say of an option that has no value default. */
const NO_VALUE_DEFAULT = /^(required\b|none$|the profile's$|`Date\.now`$)/

type Value = string | number | boolean | readonly never[] | Readonly<Record<string, never>>

/** A default as the docs write it: `'text'`, `true`, `5000`, `[]`, `{}`; bare `5`, `1 MiB`. */
function parseValue(token: string): Value | undefined {
  const text = token.replace(/^`(.*)`$/, '$1')
  if (/^'[^']*'$/.test(text)) return text.slice(1, -1)
  if (text === 'true' || text === 'false') return text === 'true'
  if (text === '[]') return []
  if (text === '{}') return {}
  const number = /^(\d[\d_]*)(?: (KiB|MiB))?$/.exec(text)
  if (number === null) return undefined
  const unit = number[2] === 'MiB' ? 1 << 20 : number[2] === 'KiB' ? 1 << 10 : 1
  return Number(number[1]!.replaceAll('_', '')) * unit
}

function render(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value)
}

/** The first default stated in `text`: a backticked value, or a bare number (with a unit). */
function firstValue(text: string): Value | undefined {
  const token = /`[^`]+`|\d[\d_]*(?: [KM]iB)?/.exec(text)?.[0]
  return token === undefined ? undefined : parseValue(token)
}

/**
 * A per-profile default as the docs write it: a value for every profile, then values for the
 * profiles named after them, e.g. "`'jwt'`; `'query'` under `fapi2-security` and `oidc`".
 * Returns the value each profile gets, or a complaint.
 */
function perProfile(text: string): Map<Profile, Value> | string {
  let base: Value | undefined
  const groups: { value: Value; profiles: Profile[] }[] = []
  for (const [token] of text.matchAll(/`[^`]+`/g)) {
    const name = token.slice(1, -1)
    const value = parseValue(token)
    if (value !== undefined) groups.push({ value, profiles: [] })
    else if ((PROFILES as string[]).includes(name)) {
      const group = groups.at(-1)
      if (group === undefined) return `names profile ${name} before any value`
      group.profiles.push(name as Profile)
    }
  }
  const stated = new Map<Profile, Value>()
  for (const group of groups) {
    if (group.profiles.length === 0) {
      if (base !== undefined) return 'states two defaults for every profile'
      base = group.value
    }
    for (const profile of group.profiles) stated.set(profile, group.value)
  }
  for (const profile of PROFILES) {
    if (!stated.has(profile)) {
      if (base === undefined) return `states no default for profile ${profile}`
      stated.set(profile, base)
    }
  }
  return stated
}

/** The complaints about a per-profile default as `text` states it. */
function perProfileProblems(where: string, option: keyof ProfileDefaults, text: string): string[] {
  const stated = perProfile(text)
  if (typeof stated === 'string') return [`${where} ${stated}: "${text}"`]
  return PROFILES.filter(
    (profile) => stated.get(profile) !== DEFAULTS.byProfile[profile][option],
  ).map(
    (profile) =>
      `${where} says ${render(stated.get(profile))} under ${profile}, DEFAULTS.byProfile has ${render(DEFAULTS.byProfile[profile][option])}`,
  )
}

interface Row {
  readonly defaults: string
  readonly meaning: string
}

/**
 * The options of docs/reference/options.md, by name: under each heading `### \`name\``, a first
 * paragraph "Default: …" or "Required …" (the default cell of a table row), then the meaning.
 * An option whose first paragraph is neither has an empty default.
 */
function headingRows(page: string): Map<string, Row> {
  const rows = new Map<string, Row>()
  for (const section of page.split(/^(?=#{1,3} )/m)) {
    const name = /^### `([\w.]+)`\n/.exec(section)?.[1]
    if (name === undefined) continue
    const [first = '', ...rest] = section
      .slice(section.indexOf('\n') + 1)
      .trim()
      .split(/\n\s*\n/)
    const line = first.replace(/\s+/g, ' ')
    const stated = /^Default: (.*?)\.?$/.exec(line)?.[1]
    const required = /^Required\b(.*?)\.?$/.exec(line)
    const defaults = stated ?? (required === null ? '' : `required${required[1]}`)
    rows.set(name, { defaults, meaning: rest.join(' ').replace(/\s+/g, ' ') })
  }
  return rows
}

/** The top-level members of `FapiClientOptions`, documented or not. */
function optionNames(source: string): string[] {
  const start = source.indexOf('export interface FapiClientOptions {')
  assert.ok(start !== -1, 'options.ts declares FapiClientOptions')
  const body = source.slice(start, source.indexOf('\n}\n', start))
  return [...body.matchAll(/^ {2}(?:readonly )?(\w+)\??:/gm)].map((match) => match[1]!)
}

/** The TSDoc text of each top-level member of `FapiClientOptions`, by option name. */
function optionDocs(source: string): Map<string, string> {
  const start = source.indexOf('export interface FapiClientOptions {')
  assert.ok(start !== -1, 'options.ts declares FapiClientOptions')
  const body = source.slice(start, source.indexOf('\n}\n', start))
  const docs = new Map<string, string>()
  for (const match of body.matchAll(/^ {2}\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\n {2}(\w+)\??:/gm)) {
    const text = match[1]!
      .split('\n')
      .map((line) => line.replace(/^\s*\*?\s?/, ''))
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim()
    docs.set(match[2]!, text)
  }
  return docs
}

/** The sentence of a TSDoc text that states the default ("Default …" up to its full stop). */
function defaultSentence(doc: string): string | undefined {
  return /\bDefault\b:?\s*(.*?)(?:\.(?=\s|$)|$)/.exec(doc)?.[1]
}

/**
 * Everything docs/reference/options.md says against DEFAULTS, and against `FapiClientOptions`:
 * one heading per option (`keys.signing` counts for `keys`), a default line under each, and no
 * heading for an option that does not exist.
 */
function optionsPageProblems(page: string, source: string): string[] {
  const where = 'docs/reference/options.md'
  const rows = headingRows(page)
  const names = optionNames(source)
  const problems = docProblems(where, rows)
  for (const [option, row] of rows) {
    if (row.defaults === '') {
      problems.push(`${where}: ${option} has no "Default: …" or "Required" line under its heading`)
    }
    if (!names.includes(option.split('.')[0]!)) {
      problems.push(`${where}: ${option} is not an option of FapiClientOptions`)
    }
  }
  for (const name of names) {
    if (![...rows.keys()].some((option) => option === name || option.startsWith(`${name}.`))) {
      problems.push(`${where}: no heading for ${name}`)
    }
  }
  return problems
}

/** Everything a table or page of options (`rows`, from `where`) says against DEFAULTS. */
function docProblems(where: string, rows: ReadonlyMap<string, Row>): string[] {
  const problems: string[] = []
  for (const option of FLAT) {
    const row = rows.get(option)
    if (row === undefined) problems.push(`${where}: says nothing of ${option}`)
    else if (!isDeepStrictEqual(firstValue(row.defaults), DEFAULTS[option])) {
      problems.push(
        `${where}: ${option} default is "${row.defaults}", DEFAULTS has ${render(DEFAULTS[option])}`,
      )
    }
  }
  for (const option of PER_PROFILE) {
    const row = rows.get(option)
    if (row === undefined) problems.push(`${where}: says nothing of ${option}`)
    else problems.push(...perProfileProblems(`${where}: ${option}`, option, row.defaults))
  }
  for (const option of INTEGER_OPTIONS) {
    const range = /\((\d[\d_,]*)–(\d[\d_,]*)\)/.exec(rows.get(option)?.meaning ?? '')
    if (range === null) continue
    const [min, max] = [range[1]!, range[2]!].map((text) => Number(text.replace(/[_,]/g, '')))
    const bounds = DEFAULTS.bounds[option]
    if (min !== bounds.min || max !== bounds.max) {
      problems.push(
        `${where}: ${option} range is ${range[0]}, DEFAULTS.bounds has ${bounds.min}–${bounds.max}`,
      )
    }
  }
  const known = new Set<string>([...FLAT, ...PER_PROFILE])
  for (const [option, row] of rows) {
    if (!known.has(option) && !NO_VALUE_DEFAULT.test(row.defaults)) {
      problems.push(`${where}: ${option} states a default ("${row.defaults}") that DEFAULTS lacks`)
    }
  }
  return problems
}

/** Everything the TSDoc of `FapiClientOptions` says against DEFAULTS. */
function tsdocProblems(source: string): string[] {
  const docs = optionDocs(source)
  const problems: string[] = []
  for (const option of [...FLAT, ...PER_PROFILE]) {
    const doc = docs.get(option)
    const sentence = doc === undefined ? undefined : defaultSentence(doc)
    if (sentence === undefined) {
      problems.push(`options.ts: the TSDoc of ${option} states no "Default …"`)
    } else if ((PER_PROFILE as string[]).includes(option)) {
      const perOption = option as keyof ProfileDefaults
      problems.push(...perProfileProblems(`options.ts: ${option}`, perOption, sentence))
    } else {
      const expected = DEFAULTS[option as (typeof FLAT)[number]]
      if (!isDeepStrictEqual(firstValue(sentence), expected)) {
        problems.push(
          `options.ts: ${option} says "Default ${sentence}", DEFAULTS has ${render(expected)}`,
        )
      }
    }
  }
  for (const option of INTEGER_OPTIONS) {
    const max = /\bmax (\d[\d_]*)/.exec(docs.get(option) ?? '')?.[1]
    if (max !== undefined && Number(max.replaceAll('_', '')) !== DEFAULTS.bounds[option].max) {
      problems.push(
        `options.ts: ${option} says max ${max}, DEFAULTS.bounds has ${DEFAULTS.bounds[option].max}`,
      )
    }
  }
  const known = new Set<string>([...FLAT, ...PER_PROFILE])
  for (const [option, doc] of docs) {
    const sentence = defaultSentence(doc)
    if (!known.has(option) && sentence !== undefined && firstValue(sentence) !== undefined) {
      problems.push(`options.ts: ${option} states a default ("${sentence}") that DEFAULTS lacks`)
    }
  }
  return problems
}

describe('DEFAULTS is the one statement of every default', () => {
  test('docs/reference/options.md states each DEFAULTS value under one heading per option', () => {
    const problems = optionsPageProblems(OPTIONS_PAGE, OPTIONS_TS)
    assert.deepEqual(problems, [], problems.join('\n'))
    assert.ok(headingRows(OPTIONS_PAGE).size >= FLAT.length + PER_PROFILE.length)
  })

  test('the TSDoc of each option in options.ts states its DEFAULTS value', () => {
    const problems = tsdocProblems(OPTIONS_TS)
    assert.deepEqual(problems, [], problems.join('\n'))
  })

  test('the TSDoc check notices a drifted or missing default (a changed default fails the suite)', () => {
    const source = OPTIONS_TS.replace('Default 1 MiB.', 'Default 2 MiB.')
    assert.notEqual(source, OPTIONS_TS)
    assert.match(tsdocProblems(source).join('\n'), /maxResponseBytes says "Default 2 MiB"/)
    const scope = OPTIONS_TS.replace("Default `'openid'`.", '')
    assert.match(tsdocProblems(scope).join('\n'), /TSDoc of scope states no "Default/)
  })

  test('the options page check notices a drifted default, a missing heading or one too many', () => {
    const check = (page: string): string => optionsPageProblems(page, OPTIONS_TS).join('\n')
    const drifted = OPTIONS_PAGE.replace(/(### `httpTimeout`\n\nDefault: )`5000`/, '$1`6000`')
    assert.notEqual(drifted, OPTIONS_PAGE)
    assert.match(check(drifted), /options\.md: httpTimeout default is "`6000`"/)
    const profile = OPTIONS_PAGE.replace(
      "`'mtls'` (`fapi1-advanced`)",
      "`'dpop'` (`fapi1-advanced`)",
    )
    assert.notEqual(profile, OPTIONS_PAGE)
    assert.match(check(profile), /senderConstraint says 'dpop' under fapi1-advanced/)
    const range = OPTIONS_PAGE.replace('(0–60)', '(0–90)')
    assert.notEqual(range, OPTIONS_PAGE)
    assert.match(check(range), /clockTolerance range is \(0–90\)/)
    const missing = OPTIONS_PAGE.replace('### `sessionKey`', '### sessionKey')
    assert.notEqual(missing, OPTIONS_PAGE)
    assert.match(check(missing), /no heading for sessionKey/)
    const unknown = `${OPTIONS_PAGE}\n### \`retries\`\n\nDefault: none.\n`
    assert.match(check(unknown), /retries is not an option of FapiClientOptions/)
    const bare = OPTIONS_PAGE.replace(/(### `loginPath`\n\n)Default: /, '$1The default is ')
    assert.notEqual(bare, OPTIONS_PAGE)
    assert.match(check(bare), /loginPath has no "Default: …" or "Required" line/)
  })

  test('each integer default lies within its bounds', () => {
    for (const option of INTEGER_OPTIONS) {
      const { min, max } = DEFAULTS.bounds[option]
      assert.ok(min <= DEFAULTS[option] && DEFAULTS[option] <= max, option)
    }
  })

  test('DEFAULTS is frozen, nested objects too', () => {
    assert.ok(Object.isFrozen(DEFAULTS))
    assert.ok(Object.isFrozen(DEFAULTS.bounds.clockTolerance))
    assert.ok(Object.isFrozen(DEFAULTS.byProfile.oidc))
    assert.ok(Object.isFrozen(DEFAULTS.returnToOrigins))
  })
})

describe('the resolved configuration uses DEFAULTS for what is not given', () => {
  test('an option left out takes its DEFAULTS value', () => {
    const config = resolveConfig(required)
    for (const option of [...INTEGER_OPTIONS, 'scope', 'defaultReturnTo', 'loginPath'] as const) {
      assert.equal(config[option], DEFAULTS[option], option)
    }
    assert.equal(config.profile, DEFAULTS.profile)
    assert.equal(config.clientAuthMethod, DEFAULTS.clientAuthMethod)
    assert.equal(config.allowInsecureLoopback, DEFAULTS.allowInsecureLoopback)
    assert.deepEqual(config.returnToOrigins, DEFAULTS.returnToOrigins)
    assert.deepEqual(config.authorizationParams, DEFAULTS.authorizationParams)
    assert.deepEqual(config.encryption, {
      requestObject: false,
      idToken: false,
      authorizationResponse: false,
    })
  })

  test('each profile resolves to its DEFAULTS.byProfile part', () => {
    for (const profile of PROFILES) {
      const choices = resolveProfile({ ...required, profile })
      assert.deepEqual(
        {
          responseMode: choices.responseMode,
          pushedAuthorizationRequests: choices.par,
          requestObject: choices.requestObject,
          senderConstraint: choices.senderConstraint,
        },
        DEFAULTS.byProfile[profile],
        profile,
      )
    }
  })
})
