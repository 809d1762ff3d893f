/**
 * A small `fetch` over `node:https` that trusts a test CA (Node's global fetch only trusts the
 * system store, fixed at startup): enough for the scripted user agent to walk through an https
 * authorization server's pages. No redirects are followed (the user agent does that itself).
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'

const NULL_BODY = new Set([101, 103, 204, 205, 304])

export function fetchTrusting(ca: string): typeof fetch {
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : input.toString())
    const headers: Record<string, string> = {}
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value
    })
    const body = init.body === undefined || init.body === null ? undefined : String(init.body)
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const { status, list, bytes } = await new Promise<{
      status: number
      list: [string, string][]
      bytes: Buffer
    }>((resolve, reject) => {
      const outgoing = send(url, { method: init.method ?? 'GET', headers, ca }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          const pairs: [string, string][] = []
          for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
            pairs.push([response.rawHeaders[i] ?? '', response.rawHeaders[i + 1] ?? ''])
          }
          resolve({ status: response.statusCode ?? 0, list: pairs, bytes: Buffer.concat(chunks) })
        })
        response.on('error', reject)
      })
      outgoing.on('error', reject)
      outgoing.end(body)
    })
    return new Response(NULL_BODY.has(status) ? null : bytes, { status, headers: list })
  }
}
