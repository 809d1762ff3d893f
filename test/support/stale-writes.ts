/**
 * `POST /stale-write`: an app request that reads the session, waits at a gate, then changes
 * something of its own, so that express-session saves back the copy it read at the start (the
 * stale copy of the session-integrity tests). `hold()` closes the gate: `reached` resolves once a
 * request has read its session and waits there (so a test never guesses how long that takes),
 * `release()` lets it finish.
 */
import type { NextFunction, Request, Response } from 'express'

export interface StaleHold {
  /** Resolves when a `POST /stale-write` has its session and waits at the gate. */
  readonly reached: Promise<void>
  /** Opens the gate. */
  release(): void
}

export class StaleWrites {
  #gate: Promise<void> = Promise.resolve()
  #arrived: () => void = () => undefined

  /** The route handler, mounted after express-session. */
  readonly route = (req: Request, res: Response, next: NextFunction): void => {
    this.#arrived()
    this.#gate
      .then(() => {
        ;(req.session as { visits?: number }).visits = 1
        res.status(204).end()
      })
      .catch(next)
  }

  /** Holds the next `POST /stale-write` requests until `release()`. */
  hold(): StaleHold {
    let release: () => void = () => undefined
    let arrived: () => void = () => undefined
    const reached = new Promise<void>((resolve) => {
      arrived = resolve
    })
    this.#arrived = arrived
    this.#gate = new Promise<void>((resolve) => {
      release = resolve
    })
    return { reached, release }
  }
}
