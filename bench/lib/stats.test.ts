/**
 * The bench's statistics: `node --import tsx --test bench/lib/stats.test.ts`. The interval's ranks
 * and coverage are checked against the binomial distribution computed by hand.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { estimate, generator, shuffled } from './stats.js'

test('9 samples: the median and the [2nd, 8th] order statistics, 96.1 % coverage', () => {
  const e = estimate([9, 1, 8, 2, 7, 3, 6, 4, 5])
  assert.equal(e.median, 5)
  assert.equal(e.lo, 2)
  assert.equal(e.hi, 8)
  // 1 − 2·(1 + 9) / 512
  assert.equal(e.coverage, Math.round((1 - 20 / 512) * 1e4) / 1e4)
  assert.equal(e.halfWidth, 0.6)
})

test('5 samples: no interval reaches 95 %, min–max is given with its 93.75 % coverage', () => {
  const e = estimate([1.02, 0.98, 1.0, 1.01, 0.99])
  assert.equal(e.median, 1)
  assert.equal(e.lo, 0.98)
  assert.equal(e.hi, 1.02)
  assert.equal(e.coverage, 0.9375)
})

test('20 samples: the [6th, 15th] order statistics (95.9 %), not a narrower one below 95 %', () => {
  const e = estimate(Array.from({ length: 20 }, (_, i) => i + 1))
  assert.equal(e.lo, 6)
  assert.equal(e.hi, 15)
  assert.ok(e.coverage >= 0.95 && e.coverage < 0.96)
})

test('non-finite samples (a failed division) are left out', () => {
  const e = estimate([1, Number.NaN, 3, 2])
  assert.equal(e.median, 2)
})

test('the shuffle is a permutation, replayable from its seed', () => {
  const items = ['a', 'b', 'c', 'd', 'e']
  const one = shuffled(items, generator(42))
  assert.deepEqual([...one].sort(), items)
  assert.deepEqual(shuffled(items, generator(42)), one)
})
