/**
 * The load generator: keep-alive HTTP/1.1 over 127.0.0.1, a fixed number of requests, a bounded
 * number in flight. It runs in the parent; the server it drives is another process.
 */
import { Agent, request } from 'node:http'

/** One request of a batch. */
export interface BenchRequest {
  readonly path: string
  readonly cookie?: string
}

/** What the bench keeps of an answer. */
export interface BenchResponse {
  readonly status: number
  readonly location: string
  readonly setCookie: readonly string[]
  readonly body: string
}

/** A keep-alive client for one server. */
export class LoadClient {
  readonly #origin: URL
  readonly #agent: Agent

  constructor(origin: string, concurrency: number) {
    this.#origin = new URL(origin)
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: concurrency,
      maxFreeSockets: concurrency,
    })
  }

  /** One GET; rejects on network errors and after 30 s. */
  get(req: BenchRequest): Promise<BenchResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          agent: this.#agent,
          host: this.#origin.hostname,
          port: this.#origin.port,
          path: req.path,
          method: 'GET',
          headers: {
            accept: 'text/html',
            ...(req.cookie === undefined ? {} : { cookie: req.cookie }),
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              location: res.headers.location ?? '',
              setCookie: res.headers['set-cookie'] ?? [],
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          )
          res.on('error', reject)
        },
      )
      outgoing.setTimeout(30_000, () => outgoing.destroy(new Error(`timeout: GET ${req.path}`)))
      outgoing.on('error', reject)
      outgoing.end()
    })
  }

  /**
   * Sends every request, at most `concurrency` at a time, and returns the answers in order and
   * the wall time in milliseconds. When `stop()` turns true, no further request is sent: the
   * answers are then those of the requests sent, all of them complete.
   */
  async batch(
    requests: readonly BenchRequest[],
    concurrency: number,
    stop: () => boolean = () => false,
  ): Promise<{ responses: BenchResponse[]; wallMs: number }> {
    const responses: BenchResponse[] = new Array<BenchResponse>(requests.length)
    let next = 0
    const started = performance.now()
    const worker = async () => {
      while (next < requests.length && !stop()) {
        const index = next++
        responses[index] = await this.get(requests[index]!)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker))
    return { responses: responses.slice(0, next), wallMs: performance.now() - started }
  }

  close(): void {
    this.#agent.destroy()
  }
}

/** The `name=value` part of the first Set-Cookie with that name, or undefined. */
export function cookieOf(response: BenchResponse, name: string): string | undefined {
  for (const line of response.setCookie) {
    const pair = line.split(';')[0] ?? ''
    if (pair.startsWith(`${name}=`)) return pair
  }
  return undefined
}

/** The express-session id inside a `connect.sid=s%3A<id>.<sig>` cookie pair. */
export function sessionIdOf(cookiePair: string): string {
  const value = decodeURIComponent(cookiePair.slice(cookiePair.indexOf('=') + 1))
  if (!value.startsWith('s:')) throw new Error('not a signed express-session cookie')
  return value.slice(2, value.lastIndexOf('.'))
}
