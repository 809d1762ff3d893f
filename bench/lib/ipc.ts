/**
 * A tiny request/reply protocol over the IPC channel of `child_process.fork`, for the bench's
 * child processes (the authorization server, the relying-party servers, the raw crypto probe).
 *
 * Every child stops by itself: when the parent says `exit`, when the IPC channel closes (the
 * parent died), or after a hard lifetime limit.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

interface RpcRequest {
  readonly id: number
  readonly cmd: string
  readonly args: unknown
}

interface RpcReply {
  readonly id: number
  readonly ok: boolean
  readonly result?: unknown
  readonly error?: string
}

function isReply(value: unknown): value is RpcReply {
  return typeof value === 'object' && value !== null && 'id' in value && 'ok' in value
}

function isRequest(value: unknown): value is RpcRequest {
  return typeof value === 'object' && value !== null && 'id' in value && 'cmd' in value
}

/** The id of the message a child sends once, when it is ready. */
const READY_ID = -1

/** The `--import` argument that lets a child run TypeScript, resolved from this file. */
const TSX = import.meta.resolve('tsx')

/**
 * The hard lifetime of any child, whatever happens to the parent: a full run takes ~25 minutes on
 * a loaded 2-core machine, so 45.
 */
export const CHILD_MAX_LIFETIME_MS = 45 * 60_000

/** The parent's handle on one child. */
export class Child {
  readonly name: string
  readonly #process: ChildProcess
  readonly #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  #nextId = 1
  #exited: Promise<number | null>
  #ready: Promise<unknown>

  private constructor(name: string, child: ChildProcess) {
    this.name = name
    this.#process = child
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    let announced: (value: unknown) => void = () => {}
    this.#ready = new Promise((resolve, reject) => {
      announced = resolve
      void this.#exited.then((code) => reject(new Error(`${name} exited (code ${String(code)})`)))
    })
    child.on('message', (message: unknown) => {
      if (!isReply(message)) return
      if (message.id === READY_ID) {
        announced(message.result)
        return
      }
      const waiter = this.#waiting.get(message.id)
      if (waiter === undefined) return
      this.#waiting.delete(message.id)
      if (message.ok) waiter.resolve(message.result)
      else waiter.reject(new Error(`${name}: ${message.error ?? 'failed'}`))
    })
    void this.#exited.then((code) => {
      for (const waiter of this.#waiting.values()) {
        waiter.reject(new Error(`${name} exited (code ${String(code)})`))
      }
      this.#waiting.clear()
    })
  }

  /** Forks `script` (a .ts file next to the bench) with tsx, plus extra node flags. */
  static start(name: string, script: URL, args: string[] = [], nodeFlags: string[] = []): Child {
    const child = fork(fileURLToPath(script), args, {
      execArgv: ['--import', TSX, ...nodeFlags],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    return new Child(name, child)
  }

  /** What the child announced once it was ready (see {@link announce}). */
  ready<T>(timeoutMs = 60_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: not ready in time`)),
        timeoutMs,
      )
      this.#ready.then(
        (value) => {
          clearTimeout(timer)
          resolve(value as T)
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error instanceof Error ? error : new Error(String(error)))
        },
      )
    })
  }

  get pid(): number | undefined {
    return this.#process.pid
  }

  /** Sends a command and waits for its reply (bounded by `timeoutMs`). */
  call<T>(cmd: string, args: unknown = null, timeoutMs = 120_000): Promise<T> {
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id)
        reject(new Error(`${this.name}: "${cmd}" timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value as T)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      const request: RpcRequest = { id, cmd, args }
      this.#process.send(request)
    })
  }

  /** Asks the child to exit, then kills it (by its own handle) if it has not after 10 s. */
  async stop(): Promise<void> {
    if (this.#process.exitCode !== null || this.#process.signalCode !== null) return
    if (this.#process.connected) this.#process.send({ id: 0, cmd: 'exit', args: null })
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), 10_000)
    await this.#exited
    clearTimeout(timer)
  }

  /** Kills the child at once (used when the parent is interrupted). */
  kill(): void {
    if (this.#process.exitCode === null && this.#process.signalCode === null) {
      this.#process.kill('SIGKILL')
    }
  }
}

/** A command handler in a child. */
export type Handlers = Record<string, (args: unknown) => unknown>

/**
 * Serves commands from the parent. `exit` runs `beforeExit` (e.g. closing servers) and exits
 * with `process.exit(0)`, which also writes a `--cpu-prof` profile.
 */
export function serve(handlers: Handlers, beforeExit: () => Promise<void> = async () => {}): void {
  const lifetime = setTimeout(() => process.exit(3), CHILD_MAX_LIFETIME_MS)
  lifetime.unref()
  const exit = (code: number) => {
    const hard = setTimeout(() => process.exit(code), 5_000)
    hard.unref()
    beforeExit().finally(() => process.exit(code))
  }
  process.on('disconnect', () => exit(0))
  process.on('message', (message: unknown) => {
    if (!isRequest(message)) return
    if (message.cmd === 'exit') {
      exit(0)
      return
    }
    const handler = handlers[message.cmd]
    const reply = (body: Omit<RpcReply, 'id'>) => {
      if (process.connected) process.send?.({ id: message.id, ...body })
    }
    if (handler === undefined) {
      reply({ ok: false, error: `unknown command "${message.cmd}"` })
      return
    }
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (result) => reply({ ok: true, result: result ?? null }),
        (error: unknown) =>
          reply({
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      )
  })
}

/** Tells the parent that this child is ready, with what it needs to know (e.g. a URL). */
export function announce(info: unknown): void {
  process.send?.({ id: READY_ID, ok: true, result: info })
}
