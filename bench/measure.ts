// One measured run: the load, the CPU each process used meanwhile, and the statements the
// database counted; and the figures of several runs, side by side.

import type { BenchDb } from './database.js'
import type { Counters } from './db-counters.js'
import { countersSince, perOperation, readCounters } from './db-counters.js'
import { type ClosedLoopOptions, closedLoop, type LoopResult, rate } from './load.js'
import { CpuMeter, type CpuShare } from './proc.js'
import { fmt, median, summarize } from './stats.js'

export interface Measured {
  loop: LoopResult
  rate: number
  cpu: CpuShare
  /** Database statements per operation (MariaDB only). */
  statements: ReturnType<typeof perOperation>
}

export async function measureRun(
  db: BenchDb,
  cpuGroups: Map<string, () => number[]>,
  options: ClosedLoopOptions,
): Promise<Measured> {
  const before: Counters | null = await readCounters(db)
  const meter = new CpuMeter(cpuGroups)
  const loop = await closedLoop(options)
  const cpu = meter.stop()

  return {
    loop,
    rate: rate(loop),
    cpu,
    statements: perOperation(null, await countersSince(db, before), loop.latencies.length),
  }
}

/** The median rate of several runs, and latency percentiles over all their operations. */
export function combine(runs: Measured[]) {
  const latencies = runs.flatMap((run) => run.loop.latencies)
  const errors = new Map<string, number>()
  for (const run of runs) {
    for (const [message, count] of run.loop.errors) {
      errors.set(message, (errors.get(message) ?? 0) + count)
    }
  }

  return {
    rate: median(runs.map((run) => run.rate)),
    rates: runs.map((run) => Math.round(run.rate)),
    latency: summarize(latencies),
    operations: latencies.length,
    errors,
  }
}

/** CPU per component averaged over runs, as "% of one core" and "ms of CPU per operation". */
export function cpuPerOperation(runs: Measured[]): string {
  const names = new Set(runs.flatMap((run) => [...run.cpu.byName.keys()]))
  const avg = (pick: (run: Measured) => number) =>
    runs.reduce((sum, run) => sum + pick(run), 0) / runs.length
  const rateAvg = avg((run) => run.rate)
  const parts = [...names].map((name) => {
    const pct = avg((run) => run.cpu.byName.get(name) ?? 0)

    return `${name} ${Math.round(pct)}% (${fmt((pct * 10) / rateAvg)} ms/op)`
  })
  const client = avg((run) => run.cpu.client)
  parts.push(`client ${Math.round(client)}% (${fmt((client * 10) / rateAvg)} ms/op)`)
  parts.push(`other processes ${Math.round(avg((run) => run.cpu.others))}%`)

  return `${parts.join(', ')}; of ${(runs[0]?.cpu.cores ?? 0) * 100}%`
}

export const ms = (value: number) => `${fmt(value)} ms`
export const perSecond = (value: number) => `${Math.round(value)}/s`
export const percent = (value: number) => `${Math.round(value * 100)}%`
