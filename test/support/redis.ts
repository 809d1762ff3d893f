/**
 * A real redis-server (Debian's package) on 127.0.0.1 for tests, with no persistence.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { systemDependency } from './system.js'

export const REDIS_SERVER = '/usr/bin/redis-server'

/** Why redis tests cannot run here (a failure under CI), or false when they can. */
export function redisMissing(): string | false {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' })
  return systemDependency('redis-server', probe.status === 0, 'the multi-instance tests')
}

/** A free TCP port on 127.0.0.1 (listen on port 0, then release it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

export interface StartedRedis {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

/** Starts redis-server on 127.0.0.1 (on `port`, e.g. to restart one on its old port). */
export async function startRedis(port?: number): Promise<StartedRedis> {
  port ??= await freePort()
  const child: ChildProcess = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start in 10 s')), 10_000)
    let seen = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8')
      if (seen.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${String(code)}`))
    })
  })
  child.stdout?.resume()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async close() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}
