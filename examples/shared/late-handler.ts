/**
 * A server that must listen before its request handler exists (each of the example's two servers
 * needs the other's URL, port included): requests that arrive in between wait for the handler
 * instead of being accepted and never answered.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'

/** Queues the server's requests until `attach(handler)`; then hands them, and all later ones, on. */
export function lateHandler(server: Server): (handler: RequestListener) => void {
  let handler: RequestListener | undefined
  const waiting: [IncomingMessage, ServerResponse][] = []
  server.on('request', (req, res) => {
    if (handler === undefined) waiting.push([req, res])
    else handler(req, res)
  })
  return function attach(next) {
    handler = next
    for (const [req, res] of waiting.splice(0)) next(req, res)
  }
}
