/**
 * An error handler for express-fapi's errors: the status, the stable code and the message, as JSON
 * or as a small HTML page; never a stack trace, a token or a code. Other errors pass on untouched.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { escapeHtml } from '../core/flows/page.js'
import { FapiError } from '../errors.js'
import { prefersJson, send, sendJson, type Next } from './http.js'

/** Errors {@link errorHandler} rendered. */
const rendered = new WeakSet<FapiError>()
let warned = false

/**
 * Whether a finished response is the page of the framework's final handler (`finalhandler`, in
 * Express 4 and 5 and Connect: a stack trace in development): the error's status, with the two
 * headers it always sets.
 */
function finalHandlerAnswered(res: ServerResponse, error: FapiError): boolean {
  return (
    res.statusCode === error.status &&
    res.getHeader('content-security-policy') === "default-src 'none'" &&
    res.getHeader('x-content-type-options') === 'nosniff'
  )
}

/**
 * Hands a request-time error to the app's error handlers. When none of them answers it and the
 * framework's final handler does (no `errorHandler()`, no handler of the app's own), warns once
 * per process with `console.error`: that page shows a stack trace in development.
 */
export function forwardError(res: ServerResponse, next: Next, error: FapiError): void {
  if (!warned) {
    res.once('finish', () => {
      if (warned || rendered.has(error) || !finalHandlerAnswered(res, error)) return
      warned = true
      console.error(
        `express-fapi: ${error.code} reached the framework's final handler, which shows a stack trace in development: mount errorHandler() after the routes (app.use(errorHandler())), or handle FapiError in your own error handler. This warning is shown once.`,
      )
    })
  }
  next(error)
}

/** An error-handling middleware of Connect and Express (four parameters). */
export type ErrorMiddleware = (
  err: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: Next,
) => void

/**
 * Renders {@link FapiError}s; passes every other error to the next error handler.
 *
 * @example
 * ```ts
 * app.use(errorHandler())
 * ```
 */
export function errorHandler(): ErrorMiddleware {
  return function fapiErrorHandler(err, req, res, next) {
    if (!(err instanceof FapiError) || res.headersSent) {
      next(err)
      return
    }
    rendered.add(err)
    // An unexpected failure is not described to the user; its code is enough to find it.
    const message =
      err.status >= 500 && err.code === 'ERR_INTERNAL' ? 'internal error' : err.message
    if (prefersJson(req)) {
      sendJson(req, res, err.status, { error: err.code, message }, { 'Cache-Control': 'no-store' })
      return
    }
    send(
      req,
      res,
      err.status,
      {
        'Cache-Control': 'no-store',
        'Content-Security-Policy': "default-src 'none'",
        'Content-Type': 'text/html; charset=utf-8',
      },
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Login failed</title></head>` +
        `<body><h1>Login failed</h1><p>${escapeHtml(message)}</p><p>Error code: <code>${escapeHtml(err.code)}</code></p></body></html>`,
    )
  }
}
