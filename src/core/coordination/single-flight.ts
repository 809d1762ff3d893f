/**
 * Work done once across instances, with the result shared: a short lock (`claim` with a random
 * owner value, released by compare-and-delete) and a short-lived result key. In this process,
 * callers of one key share one promise first, so only one of them talks to the store. Others wait,
 * polling the result key with a bounded wait, and get the winner's result (or its error's code);
 * a lock whose owner died expires after `lockMs` and the next waiter takes it.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CoordinationError,
  ERROR_TABLE,
  fapiError,
  toFapiError,
  type FapiError,
  type FapiErrorCode,
} from '../../errors.js'
import { randomToken } from '../jwt/random.js'
import type { Coordination } from './store.js'

/** How long the lock and the result live, and how long a waiter waits. */
export interface FlightTiming {
  /** The lock's lifetime: longer than the work can take. */
  readonly lockMs: number
  /** How long the result answers later callers. */
  readonly resultMs: number
  /** How long a caller waits for another instance's result. */
  readonly waitMs: number
}

const OK = 'ok:'
const FAILED = 'err:'

/** How long a failure is shared with waiters (they would otherwise retry at once). */
const FAILURE_MS = 2000

function encodeFailure(error: FapiError): string {
  return FAILED + JSON.stringify({ code: error.code, message: error.message })
}

function decode(value: string): string {
  if (value.startsWith(OK)) return value.slice(OK.length)
  let failure: { code?: unknown; status?: unknown; message?: unknown } = {}
  try {
    failure = JSON.parse(value.slice(FAILED.length)) as typeof failure
  } catch {
    // fall through to the generic failure
  }
  // The code is the table's (its class and status come with it); anything else is ERR_INTERNAL.
  const known = typeof failure.code === 'string' && Object.hasOwn(ERROR_TABLE, failure.code)
  throw fapiError(
    known ? (failure.code as FapiErrorCode) : 'ERR_INTERNAL',
    known && typeof failure.message === 'string' ? failure.message : undefined,
  )
}

/** Single flight of one kind of work (e.g. refreshes), keyed by the caller. */
export class SingleFlight {
  readonly #store: Coordination
  readonly #local = new Map<string, Promise<string>>()

  constructor(store: Coordination) {
    this.#store = store
  }

  /**
   * Runs `work` once for `key` across instances while the result lives; every caller resolves
   * with its result (or rejects with its error's code). `work` resolves with a string.
   */
  run(key: string, timing: FlightTiming, work: () => Promise<string>): Promise<string> {
    let pending = this.#local.get(key)
    if (pending === undefined) {
      pending = this.#run(key, timing, work).finally(() => this.#local.delete(key))
      this.#local.set(key, pending)
    }
    return pending
  }

  async #run(key: string, timing: FlightTiming, work: () => Promise<string>): Promise<string> {
    const resultKey = `${key}:result`
    const lockKey = `${key}:lock`
    const deadline = Date.now() + timing.waitMs
    for (let attempt = 0; ; attempt += 1) {
      const done = await this.#store.get(resultKey)
      if (done !== undefined) return decode(done)
      const owner = randomToken()
      if (await this.#store.claim(lockKey, timing.lockMs, owner)) {
        try {
          // The previous owner may have finished between our read and our claim.
          const finished = await this.#store.get(resultKey)
          if (finished !== undefined) return decode(finished)
          let result: string
          try {
            result = await work()
          } catch (error) {
            const failure = toFapiError(error)
            if (!(failure instanceof CoordinationError)) {
              await this.#store.set(resultKey, encodeFailure(failure), FAILURE_MS)
            }
            throw failure
          }
          await this.#store.set(resultKey, OK + result, timing.resultMs)
          return result
        } finally {
          await this.#store.release(lockKey, owner).catch(() => undefined)
        }
      }
      if (Date.now() >= deadline) {
        throw new CoordinationError(
          'ERR_COORDINATION_TIMEOUT',
          'another instance is doing the same work and did not finish in time; try again',
        )
      }
      // Bounded, growing pauses: 10, 20, 40, then 50 ms.
      await sleep(Math.min(50, 10 * 2 ** Math.min(attempt, 3)))
    }
  }
}

/**
 * Runs `work` while holding the short lock `key` (a claim with a random owner, released by
 * compare-and-delete), waiting at most `waitMs` for it; `lockMs` bounds how long a dead owner
 * can block the others.
 */
export async function withLock<T>(
  store: Coordination,
  key: string,
  timing: { readonly lockMs: number; readonly waitMs: number },
  work: () => Promise<T>,
): Promise<T> {
  const owner = randomToken()
  const deadline = Date.now() + timing.waitMs
  for (let attempt = 0; !(await store.claim(key, timing.lockMs, owner)); attempt += 1) {
    if (Date.now() >= deadline) {
      throw new CoordinationError(
        'ERR_COORDINATION_TIMEOUT',
        'another request holds this login and did not finish in time; try again',
      )
    }
    await sleep(Math.min(50, 5 * 2 ** Math.min(attempt, 4)))
  }
  try {
    return await work()
  } finally {
    await store.release(key, owner).catch(() => undefined)
  }
}
