/**
 * Joining a server by dynamic registration (RFC 7591) and managing the registration afterwards
 * (RFC 7592), as named steps: discover the registration endpoint, derive the metadata from the
 * client's configuration, obtain a fresh software statement, register (or update when the
 * configuration changed), check the answer, persist it with its (possibly rotated) registration
 * access token. One call in flight per registration in this process.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { Config } from '../../config/index.js'
import { FapiError, ServerResponseError } from '../../errors.js'
import { log } from '../log.js'
import { discoveryUrl } from '../server/discovery.js'
import { requestJson } from '../transport/http.js'
import { checkAnswer, type CheckedAnswer } from './answer.js'
import { registrationMetadata, type MetadataInput } from './metadata.js'
import { manageRegistration, postRegistration, type Delivery } from './request.js'
import { registrationSigningKey } from './signing.js'
import type { SigningKeySource } from '../jwt/sign.js'
import type { Registration, RegistrationStore } from './store.js'

/** What a registration needs beside the configuration; resolved by `fapiRegistration()`. */
export interface RegistrationPlan {
  readonly config: Config
  readonly key: string
  readonly store: RegistrationStore
  readonly metadata: MetadataInput
  readonly softwareStatement: (() => Promise<string>) | undefined
  readonly initialAccessToken: (() => Promise<string>) | undefined
  readonly format: 'json' | 'jwt'
  readonly mtls: boolean
}

interface Endpoint {
  readonly url: string
  readonly server: Readonly<Record<string, unknown>>
}

/** Step 1: the server's metadata and its registration endpoint (its mTLS alias under mTLS). */
async function registrationEndpoint(plan: RegistrationPlan): Promise<Endpoint> {
  const { config } = plan
  const { status, body } = await requestJson(
    discoveryUrl(config.issuer),
    { method: 'GET' },
    config,
    'registration discovery',
  )
  if (status !== 200) {
    throw new ServerResponseError('ERR_AS_HTTP_STATUS', `registration discovery: HTTP ${status}`)
  }
  if (body.issuer !== config.issuer) {
    throw new ServerResponseError(
      'ERR_DISCOVERY_ISSUER_MISMATCH',
      `registration discovery: metadata "issuer" does not equal the configured issuer "${config.issuer}"`,
    )
  }
  const aliases = body.mtls_endpoint_aliases
  const alias =
    plan.mtls && typeof aliases === 'object' && aliases !== null
      ? (aliases as Record<string, unknown>).registration_endpoint
      : undefined
  const url = typeof alias === 'string' ? alias : body.registration_endpoint
  if (typeof url !== 'string' || url === '') {
    throw new ServerResponseError(
      'ERR_DISCOVERY_INVALID',
      `registration: the server at "${config.issuer}" lists no "registration_endpoint" (RFC 8414 §2); register the client by hand and give clientId`,
    )
  }
  return { url, server: body }
}

/** Step 3: a fresh software statement from the app, for each registration or update. */
async function softwareStatement(plan: RegistrationPlan): Promise<string | undefined> {
  if (plan.softwareStatement === undefined) return undefined
  let ssa: unknown
  try {
    ssa = await plan.softwareStatement()
  } catch (cause) {
    throw new FapiError(
      'ERR_SOFTWARE_STATEMENT_UNAVAILABLE',
      'registration: the softwareStatement function failed',
      cause,
    )
  }
  if (typeof ssa !== 'string' || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(ssa)) {
    throw new FapiError(
      'ERR_SOFTWARE_STATEMENT_UNAVAILABLE',
      'registration: the softwareStatement function did not return a compact JWT',
    )
  }
  return ssa
}

/** The digest of what is asked, without the software statement (fresh each time). */
function fingerprint(metadata: Record<string, unknown>): string {
  const { software_statement: ssa, ...rest } = metadata
  void ssa
  const sorted = Object.fromEntries(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)))
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url')
}

function record(
  plan: RegistrationPlan,
  answer: CheckedAnswer,
  asked: Record<string, unknown>,
  previous?: Registration,
): Registration {
  return Object.freeze({
    issuer: plan.config.issuer,
    clientId: answer.clientId,
    clientSecret: answer.clientSecret ?? previous?.clientSecret,
    // RFC 7592 §2.2: a rotated token replaces the old one; none returned keeps it.
    registrationAccessToken: answer.registrationAccessToken ?? previous?.registrationAccessToken,
    registrationClientUri: answer.registrationClientUri ?? previous?.registrationClientUri,
    metadata: answer.metadata,
    fingerprint: fingerprint(asked),
    updatedAt: plan.config.now(),
  })
}

async function delivery(
  plan: RegistrationPlan,
  signingKey: SigningKeySource,
  initial: boolean,
): Promise<Delivery> {
  return {
    format: plan.format,
    signingKey,
    clientCertificate: plan.mtls,
    ...(initial && plan.initialAccessToken !== undefined
      ? { initialAccessToken: await plan.initialAccessToken() }
      : {}),
  }
}

/**
 * Registers the client, or updates its registration when the configuration changed since it was
 * stored; returns the stored registration as it is when nothing changed.
 */
export async function ensureRegistration(plan: RegistrationPlan): Promise<Registration> {
  const stored = await plan.store.get(plan.key)
  const endpoint = await registrationEndpoint(plan)
  const signingKey = registrationSigningKey(plan.config, endpoint.server)
  const derived = registrationMetadata(plan.config, endpoint.server, plan.metadata, signingKey)
  if (stored !== undefined && stored.fingerprint === fingerprint(derived)) return stored
  const ssa = await softwareStatement(plan)
  const asked = ssa === undefined ? derived : { ...derived, software_statement: ssa }
  const { registrationAccessToken: token, registrationClientUri: uri } = stored ?? {}
  if (stored !== undefined && token !== undefined && uri !== undefined) {
    // RFC 7592 §2.2: the whole metadata, with client_id, replaces the registered one.
    const answer = await manageRegistration(
      plan.config,
      uri,
      token,
      {
        method: 'PUT',
        metadata: { ...asked, client_id: stored.clientId },
        delivery: await delivery(plan, signingKey, false),
      },
      plan.mtls,
    )
    const updated = record(
      plan,
      checkAnswer(answer ?? {}, asked, plan.config, stored.clientId),
      asked,
      stored,
    )
    await plan.store.set(plan.key, updated)
    log.discovery('registration of %s at %s updated', updated.clientId, plan.config.issuer)
    return updated
  }
  const answer = await postRegistration(
    plan.config,
    endpoint.url,
    asked,
    await delivery(plan, signingKey, true),
  )
  const registered = record(plan, checkAnswer(answer, asked, plan.config), asked)
  await plan.store.set(plan.key, registered)
  log.discovery('registered as %s at %s', registered.clientId, plan.config.issuer)
  return registered
}

/** RFC 7592 §2.1: reads the registration back from the server and stores what it says. */
export async function readRegistration(plan: RegistrationPlan): Promise<Registration | undefined> {
  const stored = await plan.store.get(plan.key)
  const { registrationAccessToken: token, registrationClientUri: uri } = stored ?? {}
  if (stored === undefined || token === undefined || uri === undefined) return stored
  const answer = await manageRegistration(plan.config, uri, token, { method: 'GET' }, plan.mtls)
  const checked = checkAnswer(answer ?? {}, stored.metadata, plan.config, stored.clientId)
  const read = Object.freeze({
    ...stored,
    metadata: checked.metadata,
    registrationAccessToken: checked.registrationAccessToken ?? token,
  })
  await plan.store.set(plan.key, read)
  return read
}

/** RFC 7592 §2.3: deletes the registration at the server, then from the store. */
export async function deleteRegistration(plan: RegistrationPlan): Promise<boolean> {
  const stored = await plan.store.get(plan.key)
  if (stored === undefined) return false
  const { registrationAccessToken: token, registrationClientUri: uri } = stored
  if (token !== undefined && uri !== undefined) {
    await manageRegistration(plan.config, uri, token, { method: 'DELETE' }, plan.mtls)
  }
  await plan.store.delete(plan.key)
  log.discovery('registration of %s at %s deleted', stored.clientId, plan.config.issuer)
  return true
}
