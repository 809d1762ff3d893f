/**
 * The machine's load while the bench runs: the load average, and the CPU that processes other
 * than the bench's own used (Linux `/proc/stat` minus `/proc/<pid>/stat` of the bench's
 * processes), in cores: 1.0 means another process kept one core busy all along.
 */
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'

/** Clock ticks per second of `/proc` CPU counters (USER_HZ, 100 on Linux). */
const TICKS = 100

export interface LoadSample {
  /** Busy ticks of the whole machine (all CPUs; idle and iowait excluded). */
  readonly machineTicks: number
  /** Ticks of the bench's own processes. */
  readonly ownTicks: number
  readonly atMs: number
}

function machineBusyTicks(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
    return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)
  } catch {
    return Number.NaN
  }
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces), from field 3 on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12]) // utime, stime
  } catch {
    return 0
  }
}

export function sampleLoad(pids: readonly number[]): LoadSample {
  return {
    machineTicks: machineBusyTicks(),
    ownTicks: pids.reduce((sum, pid) => sum + processTicks(pid), 0),
    atMs: performance.now(),
  }
}

/** What other processes used between two samples, in cores, and the 1-minute load average. */
export interface Load {
  readonly otherCores: number
  readonly loadavg1: number
}

export function loadBetween(before: LoadSample, after: LoadSample): Load {
  const seconds = (after.atMs - before.atMs) / 1000
  const others =
    (after.machineTicks - before.machineTicks - (after.ownTicks - before.ownTicks)) / TICKS
  return {
    otherCores: seconds > 0 ? Math.max(0, others / seconds) : Number.NaN,
    loadavg1: loadavg()[0] ?? Number.NaN,
  }
}
