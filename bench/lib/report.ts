/** Medians, ranges and plain-text tables for the bench's output. */
import { writeFileSync } from 'node:fs'
import { format, resolveConfig } from 'prettier'

/** A measured quantity over rounds. */
export interface Series {
  readonly samples: readonly number[]
  readonly median: number
  readonly min: number
  readonly max: number
}

export function series(samples: readonly number[]): Series {
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median =
    sorted.length === 0
      ? Number.NaN
      : sorted.length % 2 === 1
        ? sorted[mid]!
        : (sorted[mid - 1]! + sorted[mid]!) / 2
  return {
    samples: samples.map((value) => round(value, 4)),
    median: round(median, 4),
    min: round(sorted[0] ?? Number.NaN, 4),
    max: round(sorted[sorted.length - 1] ?? Number.NaN, 4),
  }
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** `median (min–max)` with `digits` decimals. */
export function fmt(s: Series, digits = 0): string {
  const f = (v: number) => v.toFixed(digits)
  return s.samples.length > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median)
}

/** A left-aligned first column, right-aligned others, with a header rule. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** Writes JSON formatted as the repository's Prettier would, so that `prettier --check` passes. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  const options = (await resolveConfig(path)) ?? {}
  writeFileSync(path, await format(JSON.stringify(value), { ...options, parser: 'json' }))
}
