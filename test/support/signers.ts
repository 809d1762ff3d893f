/**
 * External signers for tests, as an application would write them: over a private key kept out of
 * express-fapi's options (an in-process stand-in for a KMS), counting and recording every call.
 */
import { constants, createPrivateKey, sign, type JsonWebKey } from 'node:crypto'
import type { ExternalSigner } from '../../src/index.js'
import { generateJwks } from './keys.js'

export interface CountingSigner extends ExternalSigner {
  /** The signing inputs received, decoded headers first. */
  readonly calls: { header: Record<string, unknown>; payload: Record<string, unknown> }[]
}

/** A signer over a freshly generated key; `der` makes ES256 answer in DER, as a KMS does. */
export async function countingSigner(
  alg: 'PS256' | 'ES256' | 'EdDSA',
  kid: string,
  options: { der?: boolean } = {},
): Promise<CountingSigner & { privateJwk: Record<string, unknown> }> {
  const { privateJwk, publicJwk } = await generateJwks(alg, kid)
  const key = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' })
  const calls: CountingSigner['calls'] = []
  return {
    kid,
    alg,
    publicJwk,
    privateJwk,
    calls,
    async sign(data) {
      const [header, payload] = Buffer.from(data)
        .toString()
        .split('.')
        .map(
          (part) =>
            JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>,
        )
      calls.push({ header: header ?? {}, payload: payload ?? {} })
      if (alg === 'EdDSA') return sign(null, data, key)
      if (alg === 'PS256') {
        return sign('sha256', data, {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: 32,
        })
      }
      return sign('sha256', data, { key, dsaEncoding: options.der === true ? 'der' : 'ieee-p1363' })
    },
  }
}
