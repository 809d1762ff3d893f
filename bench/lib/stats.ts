/**
 * The statistics of the bench: the median of per-round ratios and a distribution-free 95 %
 * confidence interval for it (the order-statistic interval of the median, from the binomial
 * distribution), and a seeded shuffle for the order of the contenders within a round.
 */
import { round } from './report.js'

/** A median with its confidence interval, over the samples it was taken from. */
export interface Estimate {
  readonly samples: readonly number[]
  readonly median: number
  /** Lower and upper end of the interval: order statistics of the samples. */
  readonly lo: number
  readonly hi: number
  /** The interval's exact coverage (≥ 0.95 from 9 samples on; less with fewer, and said so). */
  readonly coverage: number
  /** Half the interval's width relative to the median: ±x. */
  readonly halfWidth: number
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialCdf(k: number, n: number): number {
  let sum = 0
  let term = 0.5 ** n // C(n, 0) / 2^n
  for (let i = 0; i <= k; i++) {
    sum += term
    term = (term * (n - i)) / (i + 1)
  }
  return sum
}

/**
 * The order-statistic interval of the median: [x(k), x(n+1-k)] of the sorted samples covers the
 * true median with probability 1 − 2·P(Bin(n, ½) ≤ k − 1), whatever the distribution. The
 * narrowest such interval with coverage ≥ 95 % is chosen; with fewer than 6 samples no interval
 * reaches 95 %, and the widest (min–max) is given with its lower coverage.
 */
export function estimate(samples: readonly number[]): Estimate {
  const sorted = [...samples].filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) {
    return { samples, median: NaN, lo: NaN, hi: NaN, coverage: 0, halfWidth: NaN }
  }
  const mid = Math.floor(n / 2)
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  let k = 1
  while (k + 1 <= mid && 1 - 2 * binomialCdf(k, n) >= 0.95) k += 1
  const coverage = 1 - 2 * binomialCdf(k - 1, n)
  const lo = sorted[k - 1]!
  const hi = sorted[n - k]!
  return {
    samples: samples.map((v) => round(v, 4)),
    median: round(median, 4),
    lo: round(lo, 4),
    hi: round(hi, 4),
    coverage: round(coverage, 4),
    halfWidth: round((hi - lo) / 2 / median, 4),
  }
}

/** `1.032 [1.011–1.047]`, with the coverage when it is below 95 %. */
export function fmtEstimate(e: Estimate, digits = 3): string {
  const f = (v: number) => v.toFixed(digits)
  if (e.samples.length < 2) return f(e.median)
  const note = e.coverage < 0.95 ? ` (${(e.coverage * 100).toFixed(0)} % interval)` : ''
  return `${f(e.median)} [${f(e.lo)}–${f(e.hi)}]${note}`
}

/** A small seeded generator (mulberry32), so that a run's order can be replayed with `--seed`. */
export function generator(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A shuffled copy (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy
}
