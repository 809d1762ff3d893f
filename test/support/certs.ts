/**
 * Test certificates made at run time with Debian's `openssl` CLI, in a fresh directory under
 * `os.tmpdir()`: never a certificate or key in the repository.
 *
 * - a CA that signs the servers' certificate (for 127.0.0.1 and localhost),
 * - a client CA that signs the client certificate (`tls_client_auth`, subject `CN=portal`),
 * - a self-signed client certificate (`self_signed_tls_client_auth`).
 *
 * All keys are P-256 (fast). One set per test process.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface Pem {
  readonly cert: string
  readonly key: string
}

export interface TestCertificates {
  /** The CA of the servers' certificates: the client trusts it (`tls.ca`). */
  readonly serverCa: string
  /** The servers' certificate, for 127.0.0.1 and localhost. */
  readonly server: Pem
  /** The CA of client certificates: the server trusts it for `tls_client_auth`. */
  readonly clientCa: string
  /** A client certificate issued by `clientCa`, subject `CN=portal`. */
  readonly client: Pem
  /** A self-signed client certificate, subject `CN=portal-self-signed`. */
  readonly selfSigned: Pem
  /** Another client's certificate from the same CA (`CN=intruder`). */
  readonly intruder: Pem
  /** The portal's next certificate (`CN=portal`, new key), for transport certificate rotation. */
  readonly clientNext: Pem
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  await run('openssl', [...args], { cwd: dir, timeout: 20_000 })
}

async function key(dir: string, name: string): Promise<void> {
  await openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`])
}

async function selfSigned(dir: string, name: string, subject: string, ca: boolean): Promise<void> {
  await key(dir, name)
  await openssl(dir, [
    'req',
    '-new',
    '-x509',
    '-key',
    `${name}.key`,
    '-subj',
    subject,
    '-days',
    '2',
    '-sha256',
    ...(ca ? ['-addext', 'basicConstraints=critical,CA:TRUE'] : []),
    '-out',
    `${name}.crt`,
  ])
}

async function issued(
  dir: string,
  name: string,
  subject: string,
  ca: string,
  extensions: string,
): Promise<void> {
  await key(dir, name)
  await openssl(dir, [
    'req',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    subject,
    '-out',
    `${name}.csr`,
  ])
  await writeFile(join(dir, `${name}.ext`), extensions)
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ])
}

async function generate(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'express-fapi-certs-'))
  try {
    await Promise.all([
      selfSigned(dir, 'server-ca', '/CN=express-fapi test server CA', true),
      selfSigned(dir, 'client-ca', '/CN=express-fapi test client CA', true),
      selfSigned(dir, 'self-signed', '/CN=portal-self-signed', false),
    ])
    await Promise.all([
      issued(
        dir,
        'server',
        '/CN=127.0.0.1',
        'server-ca',
        'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
      ),
      issued(dir, 'client', '/CN=portal', 'client-ca', 'extendedKeyUsage=clientAuth\n'),
      issued(dir, 'intruder', '/CN=intruder', 'client-ca', 'extendedKeyUsage=clientAuth\n'),
    ])
    // After the others: `-CAcreateserial` of the client CA is not safe to run concurrently.
    await issued(dir, 'client-next', '/CN=portal', 'client-ca', 'extendedKeyUsage=clientAuth\n')
    const read = (file: string) => readFile(join(dir, file), 'utf8')
    const pem = async (name: string): Promise<Pem> => ({
      cert: await read(`${name}.crt`),
      key: await read(`${name}.key`),
    })
    return {
      serverCa: await read('server-ca.crt'),
      server: await pem('server'),
      clientCa: await read('client-ca.crt'),
      client: await pem('client'),
      selfSigned: await pem('self-signed'),
      intruder: await pem('intruder'),
      clientNext: await pem('client-next'),
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

let certificates: Promise<TestCertificates> | undefined

/** The run's certificates, made once per process. */
export function testCertificates(): Promise<TestCertificates> {
  certificates ??= generate()
  return certificates
}
