/**
 * A hand-written registration server for negative cases: discovery naming a
 * `registration_endpoint`, and a `/register` that answers whatever the test sets (by default a
 * faithful echo of the metadata with a client_id and a management pair). It records each request
 * (method, headers, body) so a test can check what the client sent.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RegistrationReply {
  readonly status: number
  readonly body?: unknown
  readonly raw?: string
}

export interface SeenRequest {
  readonly method: string
  readonly headers: IncomingMessage['headers']
  readonly body: string
}

export interface HostileRegistrationServer {
  readonly issuer: string
  readonly seen: SeenRequest[]
  /** More server metadata in discovery (e.g. `backchannel_logout_supported`). */
  discovery: Record<string, unknown>
  /** The answer to a registration, given the metadata sent (JSON; `undefined` for a JWT). */
  reply: (sent: Record<string, unknown> | undefined) => RegistrationReply
  close(): Promise<void>
}

export async function startHostileRegistration(): Promise<HostileRegistrationServer> {
  const server: Server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const state: HostileRegistrationServer = {
    issuer,
    seen: [],
    discovery: {},
    reply: (sent) => ({
      status: 201,
      body: {
        ...sent,
        client_id: 'registered-client',
        registration_access_token: 'rat-1',
        registration_client_uri: `${issuer}/register/registered-client`,
      },
    }),
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
  server.on('request', (req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const path = new URL(req.url ?? '/', issuer).pathname
      let answer: RegistrationReply
      if (path === '/.well-known/openid-configuration') {
        answer = {
          status: 200,
          body: {
            issuer,
            registration_endpoint: `${issuer}/register`,
            id_token_signing_alg_values_supported: ['ES256', 'PS256'],
            authorization_signing_alg_values_supported: ['ES256', 'PS256'],
            ...state.discovery,
          },
        }
      } else {
        state.seen.push({ method: req.method ?? '', headers: req.headers, body })
        let sent: Record<string, unknown> | undefined
        try {
          sent = req.headers['content-type'] === 'application/json' ? JSON.parse(body) : undefined
        } catch {
          sent = undefined
        }
        answer = state.reply(sent)
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(answer.raw ?? (answer.body === undefined ? '' : JSON.stringify(answer.body)))
    })
  })
  return state
}
