/**
 * An error handler for express-fapi's errors: the status, the stable code and the message, as JSON
 * or as a small HTML page; never a stack trace, a token or a code. Other errors pass on untouched.
 *
 * @module
 */
import type { ErrorRequestHandler } from 'express'
import { FapiError } from '../errors.js'

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** HTML-escapes text for element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char)
}

/**
 * Renders {@link FapiError}s; passes every other error to the next error handler.
 *
 * @example
 * ```ts
 * app.use(errorHandler())
 * ```
 */
export function errorHandler(): ErrorRequestHandler {
  return function fapiErrorHandler(err: unknown, req, res, next) {
    if (!(err instanceof FapiError) || res.headersSent) {
      next(err)
      return
    }
    // An unexpected failure is not described to the user; its code is enough to find it.
    const message =
      err.status >= 500 && err.code === 'ERR_INTERNAL' ? 'internal error' : err.message
    res.status(err.status)
    res.set('Cache-Control', 'no-store')
    if (req.accepts(['html', 'json']) === 'json') {
      res.json({ error: err.code, message })
      return
    }
    res.set('Content-Security-Policy', "default-src 'none'")
    res
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Login failed</title></head>` +
          `<body><h1>Login failed</h1><p>${escapeHtml(message)}</p><p>Error code: <code>${escapeHtml(err.code)}</code></p></body></html>`,
      )
  }
}
