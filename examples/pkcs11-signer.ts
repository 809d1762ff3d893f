/**
 * An external signer over a PKCS#11 token (an HSM; SoftHSM2 in the tests): the private key is
 * generated inside the token, non-extractable and sensitive, and never leaves it; express-fapi
 * gets `{ kid, alg, publicJwk, sign }` and hands the token the JWS signing input.
 *
 * Through `pkcs11js`, the binding of PeculiarVentures (it also underlies their `graphene-pk11`),
 * a development dependency of this repository only: an application adds it itself.
 *
 * ```ts
 * const token = openToken({ library: '/usr/lib/softhsm/libsofthsm2.so', label: 'fapi', pin })
 * const signer = token.signer({ label: 'portal-2026', kid: 'portal-2026', alg: 'PS256' })
 * const auth = fapiClient({ ...options, keys: { signing: [signer] } })
 * ```
 *
 * PS256 is `CKM_SHA256_RSA_PKCS_PSS` with MGF1-SHA-256 and a 32-octet salt (RFC 7518 §3.5); ES256
 * is `CKM_ECDSA` over the SHA-256 digest, whose output is already `R || S` (PKCS#11 §2.3.1), so it
 * needs no DER conversion. One session signs one thing at a time: signatures are queued.
 */
import { createHash } from 'node:crypto'
import pkcs11js from 'pkcs11js'
import type { ExternalSigner } from '../src/index.js'

/** An open, logged-in session on one token. */
export interface Pkcs11Token {
  /** Generates a key pair inside the token: private half sensitive and non-extractable. */
  generateKeyPair(options: { label: string; alg: 'PS256' | 'ES256' }): void
  /** An external signer over the token's private key with `label`. */
  signer(options: { label: string; kid: string; alg: 'PS256' | 'ES256' }): ExternalSigner
  /** Whether the private key with `label` could be read out of the token (it must not). */
  extractable(label: string): boolean
  /** Logs out, closes the session, finalizes the library. */
  close(): void
}

/** DER OID of the P-256 curve (secp256r1), as `CKA_EC_PARAMS` wants it. */
const P256 = Buffer.from('06082a8648ce3d030107', 'hex')

/** Opens a read-write session on the token with `label` and logs in as its user. */
export function openToken(options: { library: string; label: string; pin: string }): Pkcs11Token {
  const module = new pkcs11js.PKCS11()
  module.load(options.library)
  module.C_Initialize()
  const slot = module
    .C_GetSlotList(true)
    .find((candidate) => module.C_GetTokenInfo(candidate).label.trim() === options.label)
  if (slot === undefined) {
    module.C_Finalize()
    throw new Error(`no PKCS#11 token labelled "${options.label}"`)
  }
  const session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
  module.C_Login(session, pkcs11js.CKU_USER, options.pin)

  const find = (cls: number, label: string) => {
    module.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: cls },
      { type: pkcs11js.CKA_LABEL, value: label },
    ])
    const found = module.C_FindObjects(session)
    module.C_FindObjectsFinal(session)
    if (found === null) throw new Error(`no PKCS#11 key labelled "${label}"`)
    return found
  }

  let queue: Promise<unknown> = Promise.resolve()
  const signOne = (key: Buffer, mechanism: pkcs11js.Mechanism, data: Buffer) =>
    new Promise<Uint8Array>((resolve, reject) => {
      module.C_SignInit(session, mechanism, key)
      module.C_Sign(session, data, Buffer.alloc(512), (error, signature) =>
        error ? reject(error) : resolve(Uint8Array.from(signature)),
      )
    })

  return {
    generateKeyPair({ label, alg }) {
      const common = [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_LABEL, value: label },
      ]
      const privateTemplate = [
        ...common,
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ]
      const publicTemplate = [...common, { type: pkcs11js.CKA_VERIFY, value: true }]
      if (alg === 'PS256') {
        publicTemplate.push(
          { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 } as never,
          { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) } as never,
        )
      } else {
        publicTemplate.push({ type: pkcs11js.CKA_EC_PARAMS, value: P256 } as never)
      }
      module.C_GenerateKeyPair(
        session,
        {
          mechanism:
            alg === 'PS256' ? pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN : pkcs11js.CKM_EC_KEY_PAIR_GEN,
        },
        publicTemplate,
        privateTemplate,
      )
    },

    signer({ label, kid, alg }) {
      const privateKey = find(pkcs11js.CKO_PRIVATE_KEY, label)
      const publicKey = find(pkcs11js.CKO_PUBLIC_KEY, label)
      const publicJwk =
        alg === 'PS256' ? rsaJwk(module, session, publicKey) : ecJwk(module, session, publicKey)
      const mechanism: pkcs11js.Mechanism =
        alg === 'PS256'
          ? {
              mechanism: pkcs11js.CKM_SHA256_RSA_PKCS_PSS,
              parameter: {
                type: pkcs11js.CK_PARAMS_RSA_PSS,
                hashAlg: pkcs11js.CKM_SHA256,
                mgf: pkcs11js.CKG_MGF1_SHA256,
                saltLen: 32,
              } as pkcs11js.RsaPSS,
            }
          : { mechanism: pkcs11js.CKM_ECDSA }
      return {
        kid,
        alg,
        publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
        sign(data) {
          const input =
            alg === 'PS256' ? Buffer.from(data) : createHash('sha256').update(data).digest()
          const next = queue.then(() => signOne(privateKey, mechanism, input))
          queue = next.catch(() => undefined)
          return next
        },
      }
    },

    extractable(label) {
      const key = find(pkcs11js.CKO_PRIVATE_KEY, label)
      const [sensitive, extractable] = module.C_GetAttributeValue(session, key, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
      ])
      return !isTrue(sensitive?.value) || isTrue(extractable?.value)
    },

    close() {
      module.C_Logout(session)
      module.C_CloseSession(session)
      module.C_Finalize()
    },
  }
}

function isTrue(value: unknown): boolean {
  return Buffer.isBuffer(value) ? value[0] === 1 : value === true
}

function attribute(module: pkcs11js.PKCS11, session: Buffer, key: Buffer, type: number): Buffer {
  const [found] = module.C_GetAttributeValue(session, key, [{ type }])
  if (!Buffer.isBuffer(found?.value)) throw new Error('a PKCS#11 attribute is missing')
  return found.value
}

function rsaJwk(module: pkcs11js.PKCS11, session: Buffer, key: Buffer) {
  return {
    kty: 'RSA',
    n: attribute(module, session, key, pkcs11js.CKA_MODULUS).toString('base64url'),
    e: attribute(module, session, key, pkcs11js.CKA_PUBLIC_EXPONENT).toString('base64url'),
  }
}

function ecJwk(module: pkcs11js.PKCS11, session: Buffer, key: Buffer) {
  // CKA_EC_POINT is the DER OCTET STRING of the uncompressed point 04 || X || Y (PKCS#11 §2.3.3).
  let point = attribute(module, session, key, pkcs11js.CKA_EC_POINT)
  if (point.length === 67 && point[0] === 0x04 && point[1] === 0x41) point = point.subarray(2)
  if (point.length !== 65 || point[0] !== 0x04) throw new Error('not an uncompressed P-256 point')
  return {
    kty: 'EC',
    crv: 'P-256',
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
  }
}
