/**
 * `derToJose`: DER ECDSA signatures (RFC 3279 §2.2.3, what KMSs return) into the JWS form R || S
 * (RFC 7518 §3.4), on the edge cases that break naive converters.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign, verify } from 'node:crypto'
import { test } from 'node:test'
import { derToJose } from '../src/index.js'

/** A DER SEQUENCE of two INTEGERs given as their content octets. */
function der(r: number[], s: number[]): Uint8Array {
  const body = [0x02, r.length, ...r, 0x02, s.length, ...s]
  return Uint8Array.from([0x30, body.length, ...body])
}

const full = (fill: number) => new Array<number>(32).fill(fill)

test('RFC 7518 §3.4: every DER signature of a real key converts to one that verifies in the JOSE form', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  let highBitSeen = false
  for (let i = 0; i < 300; i += 1) {
    const data = Buffer.from(`input ${i}`)
    const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'der' })
    const jose = derToJose(signature, 'ES256')
    assert.equal(jose.length, 64)
    assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose))
    if ((jose[0] ?? 0) >= 0x80 || (jose[32] ?? 0) >= 0x80) highBitSeen = true
  }
  assert.ok(highBitSeen, 'about half the signatures have a component with its high bit set')
})

test('RFC 3279 §2.2.3: a component with its high bit set carries a 0x00 octet, dropped', () => {
  const jose = derToJose(der([0x00, ...full(0x80)], [0x00, ...full(0xff)]))
  assert.deepEqual([...jose], [...full(0x80), ...full(0xff)])
})

test('RFC 7518 §3.4: a short component (leading zeros in the value) is padded back to 32 octets', () => {
  const jose = derToJose(der([0x01], [0x7f, ...new Array<number>(30).fill(0x11)]))
  assert.deepEqual([...jose.subarray(0, 32)], [...new Array<number>(31).fill(0), 0x01])
  assert.deepEqual([...jose.subarray(32)], [0, 0x7f, ...new Array<number>(30).fill(0x11)])
})

test('RFC 7518 §3.4: ES384 and ES512 sizes, with a long-form DER length for ES512', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' })
  const data = Buffer.from('x')
  const signature = sign('sha512', data, { key: privateKey, dsaEncoding: 'der' })
  assert.equal(signature[1], 0x81, 'long-form length')
  const jose = derToJose(signature, 'ES512')
  assert.equal(jose.length, 132)
  assert.ok(verify('sha512', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose))
  assert.equal(derToJose(der([1], [2]), 'ES384').length, 96)
})

test('RFC 3279 §2.2.3: malformed DER is refused, never truncated or padded into a signature', () => {
  const refused: [string, Uint8Array][] = [
    ['empty', new Uint8Array()],
    ['not a SEQUENCE', Uint8Array.from([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])],
    ['length past the end', Uint8Array.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])],
    ['trailing octets', Uint8Array.from([...der([1], [1]), 0x00])],
    ['a component too long', der([0x01, ...full(0x01)], [1])],
    ['a component with its high bit set and no 0x00', der([0x01], full(0x80))],
    ['a non-minimal INTEGER', der([0x00, 0x01], [1])],
    ['an empty INTEGER', der([], [1])],
    ['one INTEGER only', Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01])],
    ['not an INTEGER', Uint8Array.from([0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01])],
    ['a JOSE signature given twice', new Uint8Array(64)],
  ]
  for (const [name, input] of refused) {
    assert.throws(() => derToJose(input), /DER ECDSA signature is malformed/, name)
  }
  assert.throws(() => derToJose(der([1], [1]), 'ES999' as 'ES256'), /unknown alg/)
})
