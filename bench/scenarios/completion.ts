// 1. Inspectors complete tasks from a large backlog as fast as they can, each completion
// answering with their next task; beside it, the same transaction straight through the
// driver (floor.ts) with as many connections as the service's pool. Runs alternate, service
// then floor, so both see the same neighbours on this shared machine.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchContext } from '../context.js'
import { openBenchDb } from '../database.js'
import { type Floor, mysqlFloor, sqliteFloor } from '../floor.js'
import { completeOverHttp, type Inspector, inspectorAt, logIn } from '../inspectors.js'
import { errorSummary, rate } from '../load.js'
import { combine, cpuPerOperation, type Measured, measureRun, ms, percent } from '../measure.js'
import { findProfile, summarizeProfile } from '../profile.js'
import { seedPendingTasks, seedPersons } from '../seed.js'
import { fmt } from '../stats.js'
import type { Scenario } from './scenario.js'
import { yesNo } from './scenario.js'

const INSPECTORS = 32

export const completionCycle: Scenario = {
  id: 1,
  title: 'Completion cycle against the database floor',
  async run(ctx) {
    const runs = ctx.scale(3, 2)
    const runMs = ctx.scale(15_000, 2000)
    const backlog = ctx.scale(400_000, 40_000)

    const url = await ctx.newDatabase('completion')
    const db = openBenchDb(url)
    ctx.progress(`seeding ${backlog} pending tasks`)
    await seedPendingTasks(db, backlog)
    const personIds = await seedPersons(db, INSPECTORS, 'offline', 'completion')
    let service = await ctx.startService('completion', url)
    let client = ctx.httpClient(service.port, url, INSPECTORS)
    const inspectors = await logIn(client, personIds)
    const floor = await openFloor(ctx, url)

    const serviceRun = (durationMs: number) =>
      measureRun(db, ctx.cpuGroups({ service: [service] }), {
        workers: INSPECTORS,
        durationMs,
        maxOps: 5_000_000,
        step: (w) => completeOverHttp(client, inspectorAt(inspectors, w)),
      })
    const floorRun = (durationMs: number) => runFloor(ctx, db, floor, inspectors, durationMs)

    ctx.progress('warming up')
    await serviceRun(ctx.scale(3000, 800))
    await floorRun(ctx.scale(2000, 800))
    const serviceRuns: Measured[] = []
    const floorRuns: Measured[] = []
    for (let r = 1; r <= runs; r++) {
      ctx.progress(`run ${r}/${runs}: service, then floor`)
      serviceRuns.push(await serviceRun(runMs))
      floorRuns.push(await floorRun(runMs))
    }
    await floor.close()

    ctx.progress('one more run under node --cpu-prof')
    client.close()
    await ctx.stopService(service)
    const profileDir = join(ctx.scratch, 'profile')
    mkdirSync(profileDir, { recursive: true })
    service = await ctx.startService('completion-profiled', url, {
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    })
    client = ctx.httpClient(service.port, url, INSPECTORS)
    const profiled = await serviceRun(runMs)
    client.close()
    await ctx.stopService(service)
    await db.close()
    const profile = summarizeProfile(findProfile(profileDir))

    const s = combine(serviceRuns)
    const f = combine(floorRuns)
    const ratio = s.rate / f.rate
    const pairRatios = serviceRuns.map((run, i) => percent(run.rate / (floorRuns[i]?.rate ?? 0)))
    const floorName =
      ctx.kind === 'mysql'
        ? `mysql2, ${ctx.options.poolSize} connections`
        : 'better-sqlite3, 1 connection'

    return {
      id: 1,
      title: this.title,
      rows: [
        {
          measure: `Completions/s, ${INSPECTORS} inspectors`,
          service: `${Math.round(s.rate)}/s`,
          reference: `${Math.round(f.rate)}/s (${floorName})`,
          ratio: percent(ratio),
          goal: '>= 50% of floor',
          met: yesNo(ratio >= 0.5),
        },
        {
          measure: 'Completion latency p50 / p99',
          service: `${fmt(s.latency.p50)} / ${ms(s.latency.p99)}`,
          reference: `${fmt(f.latency.p50)} / ${ms(f.latency.p99)}`,
          ratio: `${fmt(s.latency.p50 / f.latency.p50)}x / ${fmt(s.latency.p99 / f.latency.p99)}x`,
          goal: '-',
          met: 'n/a',
        },
      ],
      notes: [
        `Runs of ${runMs / 1000} s, service and floor alternating; completions/s per run: ` +
          `service ${s.rates.join(', ')}; floor ${f.rates.join(', ')} (service / floor per ` +
          `pair: ${pairRatios.join(', ')}). Latency percentiles over all ${s.operations} ` +
          `(service) and ${f.operations} (floor) completions. ` +
          `Backlog ${backlog} pending tasks; DB_POOL_SIZE=${ctx.options.poolSize}, ` +
          `LOG_LEVEL=${ctx.options.logLevel}.`,
        ...statementNotes(serviceRuns, floorRuns),
        `CPU during service runs: ${cpuPerOperation(serviceRuns)}.`,
        `CPU during floor runs: ${cpuPerOperation(floorRuns)}.`,
        `Errors: service ${errorSummary(s.errors)}; floor ${errorSummary(f.errors)} ` +
          `(floor retries ${floor.retries}).`,
        `Profiled run (node --cpu-prof): ${Math.round(rate(profiled.loop))}/s; ` +
          `${Math.round(profile.busyMs)} ms of busy CPU sampled from the first completion on. ` +
          `Self time by package: ${shares(profile.byPackage)}. Charged to the nearest package ` +
          `on the stack (a socket write for mysql2 counts for mysql2): ` +
          `${shares(profile.byCaller)}.`,
        `Top self time: ${profile.top
          .slice(0, 12)
          .map((t) => `${t.name} (${t.where || 'native'}) ${percent(t.share)}`)
          .join('; ')}.`,
      ],
    }
  },
}

function shares(list: { name: string; share: number }[]): string {
  return list
    .slice(0, 8)
    .map((p) => `${p.name} ${percent(p.share)}`)
    .join(', ')
}

async function openFloor(ctx: BenchContext, url: string): Promise<Floor> {
  return ctx.kind === 'mysql'
    ? mysqlFloor(url, ctx.options.poolSize)
    : sqliteFloor(ctx.sqlitePath(url))
}

/**
 * The floor with the same inspectors. MySQL: 32 concurrent callers sharing the pool, as the
 * service's requests share its pool. SQLite: one caller taking the inspectors in turn, since
 * the one connection runs one transaction at a time either way.
 */
function runFloor(
  ctx: BenchContext,
  db: ReturnType<typeof openBenchDb>,
  floor: Floor,
  inspectors: Inspector[],
  durationMs: number,
): Promise<Measured> {
  let turn = 0
  const concurrent = ctx.kind === 'mysql'

  return measureRun(db, ctx.cpuGroups({}), {
    workers: concurrent ? INSPECTORS : 1,
    durationMs,
    maxOps: 5_000_000,
    step: (w) =>
      floor.complete(inspectorAt(inspectors, concurrent ? w : turn++ % inspectors.length)),
  })
}

function statementNotes(serviceRuns: Measured[], floorRuns: Measured[]): string[] {
  const service = serviceRuns.at(-1)?.statements
  const floor = floorRuns.at(-1)?.statements
  if (!service || !floor) return []

  return [
    `Per completion (MariaDB's counters, last run): service ${service.describe()}, ` +
      `${service.describeReads()}; floor ${floor.describe()}, ${floor.describeReads()}.`,
  ]
}
