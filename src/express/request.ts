/**
 * Small readers of the raw request that behave the same on Express 4 and 5, whatever query parser
 * the app configured.
 *
 * @module
 */
import type { Request } from 'express'
import { FapiError } from '../errors.js'

/** The query parameters exactly as sent, repeated names kept (`getAll`). */
export function queryParams(req: Request): URLSearchParams {
  const url = req.originalUrl || req.url
  const index = url.indexOf('?')
  return new URLSearchParams(index === -1 ? '' : url.slice(index + 1))
}

/** The path of the request as the app received it. */
export function requestPath(req: Request): string {
  const url = req.originalUrl || req.url
  const index = url.indexOf('?')
  return index === -1 ? url : url.slice(0, index)
}

/** Our errors pass through; anything else (a bug, a thrown non-error) becomes `ERR_INTERNAL`. */
export function toFapiError(error: unknown): FapiError {
  if (error instanceof FapiError) return error
  return new FapiError('ERR_INTERNAL', 500, 'express-fapi failed unexpectedly', { cause: error })
}
