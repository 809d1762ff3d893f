/**
 * `createFapiCores()`: the cores of a static set of servers (an app that links several banks),
 * each knowing the others, so that every callback refuses another configured server's response
 * (RFC 9700 §4.4), for adapters built on `express-fapi/core`.
 *
 * @module
 */
import type { FapiClientOptions } from '../config/index.js'
import { FapiConfigError } from '../errors.js'
import { createFapiCore, type FapiCore } from './client.js'
import type { OtherServer, ServerSet } from './flows/mix-up.js'

/** The other servers of `cores` than `name`, as a callback's mix-up check sees them. */
export function otherServersOf(
  cores: ReadonlyMap<string, FapiCore>,
  name: string,
): readonly OtherServer[] {
  const others: OtherServer[] = []
  for (const [other, core] of cores) {
    if (other !== name) {
      others.push({ name: other, issuer: core.issuer, signedByServer: core.signedByServer })
    }
  }
  return others
}

/**
 * Creates one core per server, by the app's names for them; each core's callback knows the
 * others (a response of another of them is `ERR_MIX_UP_DETECTED`). Throws a `FapiConfigError` on
 * two servers with one issuer.
 *
 * @example
 * ```ts
 * import { createFapiCores } from 'express-fapi/core'
 * const cores = createFapiCores({ 'bank-a': optionsA, 'bank-b': optionsB })
 * const outcome = await cores.get('bank-a')?.handleCallback(request, pending)
 * ```
 * @see RFC 9700 §4.4
 */
export function createFapiCores(
  servers: Readonly<Record<string, FapiClientOptions>>,
): ReadonlyMap<string, FapiCore> {
  const cores = new Map<string, FapiCore>()
  for (const [name, options] of Object.entries(servers)) {
    const set: ServerSet = { name, otherServers: () => otherServersOf(cores, name) }
    const core = createFapiCore(options, set)
    const same = [...cores].find(([, other]) => other.issuer === core.issuer)
    if (same !== undefined) {
      throw new FapiConfigError(
        `express-fapi: createFapiCores(): "${same[0]}" and "${name}" have one issuer; give each authorization server one entry`,
      )
    }
    cores.set(name, core)
  }
  return cores
}
