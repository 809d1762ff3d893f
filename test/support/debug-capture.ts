import { after, before } from 'node:test'
import createDebug from 'debug'

/**
 * Captures every `express-fapi:*` debug line of the calling test file: enabled before its tests,
 * the app's own `DEBUG` setting and debug's writer restored after them. Returns the array the
 * lines are pushed to.
 */
export function captureDebugLines(): string[] {
  const lines: string[] = []
  const originalLog = createDebug.log
  let enabled = ''
  before(() => {
    enabled = createDebug.disable()
    createDebug.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '))
    }
    createDebug.enable('express-fapi:*')
  })
  after(() => {
    createDebug.log = originalLog
    createDebug.disable()
    if (enabled !== '') createDebug.enable(enabled)
  })
  return lines
}
