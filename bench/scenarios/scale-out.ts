// 6. Scale-out: the completion cycle against one instance (directly and through nginx) and
// against three behind nginx on one MariaDB, each beside the floor with as many connections
// as the instances hold in all; the CPU of every process says where the limit sits.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Cluster, type ServiceInstance } from '../../chaos/cluster.js'
import { Nginx } from '../../chaos/nginx.js'
import type { BenchContext } from '../context.js'
import { openBenchDb } from '../database.js'
import { type Floor, mysqlFloor } from '../floor.js'
import { completeOverHttp, inspectorAt, logIn } from '../inspectors.js'
import { errorSummary, type HttpClient } from '../load.js'
import { combine, cpuPerOperation, type Measured, measureRun, ms, percent } from '../measure.js'
import { childrenOf } from '../proc.js'
import { seedPendingTasks, seedPersons } from '../seed.js'
import { fmt } from '../stats.js'
import type { ResultRow, Scenario, ScenarioReport } from './scenario.js'

const INSPECTORS = 32

interface Setup {
  name: string
  run(durationMs: number): Promise<Measured>
  runs: Measured[]
}

export const scaleOut: Scenario = {
  id: 6,
  title: 'Scale-out behind nginx',
  async run(ctx) {
    if (ctx.kind !== 'mysql') return notOnSqlite()
    const backlog = ctx.scale(300_000, 30_000)
    const rounds = ctx.scale(3, 2)
    const runMs = ctx.scale(8000, 1500)
    const pool = ctx.options.poolSize
    const url = await ctx.newDatabase('scale_out')
    const db = openBenchDb(url)
    await seedPendingTasks(db, backlog)
    const personIds = await seedPersons(db, INSPECTORS, 'offline', 'scale_out')

    const dir = join(ctx.scratch, 'scale-out')
    const env = { DB_POOL_SIZE: String(pool), LOG_LEVEL: ctx.options.logLevel }
    const cluster = await Cluster.start({
      dir,
      databaseUrl: url,
      size: 3,
      proxy: true,
      env: { ...env, SWEEP_INTERVAL_MS: '5000' },
    })
    const nginxOne = await Nginx.start(join(dir, 'nginx-one'), [cluster.instance(0).port])
    const floors: Floor[] = []
    try {
      const first = cluster.instance(0)
      // One database behind all three, so one key for every path to it.
      const direct = ctx.httpClient(first.port, url, INSPECTORS)
      const viaOne = ctx.httpClient(nginxOne.port, url, INSPECTORS)
      const viaThree = ctx.httpClient(cluster.nginx?.port ?? 0, url, INSPECTORS)
      const inspectors = await logIn(direct, personIds)
      const floorOne = await mysqlFloor(url, pool)
      const floorThree = await mysqlFloor(url, 3 * pool)
      floors.push(floorOne, floorThree)

      const nginxPids = (nginxDir: string) => () => {
        const master = Number(readFileSync(join(nginxDir, 'nginx.pid'), 'utf8').trim())

        return [master, ...childrenOf(master)]
      }
      const http = (name: string, client: HttpClient, groups: Map<string, () => number[]>) =>
        setup(name, (durationMs) =>
          measureRun(
            db,
            groups,
            cycle(durationMs, (w) => completeOverHttp(client, inspectorAt(inspectors, w))),
          ),
        )
      const floorSetup = (name: string, floor: Floor) =>
        setup(name, (durationMs) =>
          measureRun(
            db,
            ctx.cpuGroups({}),
            cycle(durationMs, (w) => floor.complete(inspectorAt(inspectors, w))),
          ),
        )
      const instances = cluster.instances
      const one = ctx.cpuGroups({ service: [first] })
      const oneViaNginx = ctx.cpuGroups({ service: [first] })
      oneViaNginx.set('nginx', nginxPids(join(dir, 'nginx-one')))
      const three = ctx.cpuGroups(perInstance(instances))
      three.set('nginx', nginxPids(join(dir, 'nginx')))
      const setups = {
        direct: http('1 instance, direct', direct, one),
        one: http('1 instance via nginx', viaOne, oneViaNginx),
        three: http('3 instances via nginx', viaThree, three),
        floorOne: floorSetup(`floor, ${pool} connections`, floorOne),
        floorThree: floorSetup(`floor, ${3 * pool} connections`, floorThree),
      }

      ctx.progress('warming up')
      for (const s of Object.values(setups)) await s.run(ctx.scale(1500, 500))
      for (let r = 1; r <= rounds; r++) {
        ctx.progress(`round ${r}/${rounds} over ${Object.keys(setups).length} set-ups`)
        for (const s of Object.values(setups)) s.runs.push(await s.run(runMs))
      }
      direct.close()
      viaOne.close()
      viaThree.close()

      return report(ctx, setups, runMs, rounds, backlog)
    } finally {
      for (const floor of floors) await floor.close()
      await nginxOne.stop()
      await cluster.stop()
      await db.close()
    }
  },
}

function setup(name: string, run: (durationMs: number) => Promise<Measured>): Setup {
  return { name, run, runs: [] }
}

function cycle(durationMs: number, step: (w: number) => Promise<boolean>) {
  return { workers: INSPECTORS, durationMs, maxOps: 5_000_000, step }
}

function perInstance(instances: ServiceInstance[]): Record<string, ServiceInstance[]> {
  return Object.fromEntries(instances.map((instance) => [instance.name, [instance]]))
}

/** Where the limit sits, from the CPU each process used during the runs. */
function limitOf(runs: Measured[]): string {
  const last = runs.at(-1)
  if (!last) return 'unknown'
  const { byName, client, others, cores } = last.cpu
  const total = [...byName.values()].reduce((sum, v) => sum + v, 0) + client + others
  const services = [...byName].filter(([name]) => name !== 'mariadbd' && name !== 'nginx')
  const busiest = services.sort(([, a], [, b]) => b - a)[0]
  if (busiest && busiest[1] >= 90) {
    return `${busiest[0]} at ${Math.round(busiest[1])}% of a core: the Node event loop`
  }
  if (total >= cores * 100 * 0.9) {
    return `the machine: ${Math.round(total)}% of ${cores * 100}% CPU in use`
  }

  const used = `${Math.round(total)}% of ${cores * 100}% CPU`

  return `no process saturated (${used}): waits on the database`
}

function report(
  ctx: BenchContext,
  setups: Record<'direct' | 'one' | 'three' | 'floorOne' | 'floorThree', Setup>,
  runMs: number,
  rounds: number,
  backlog: number,
): ScenarioReport {
  const figures = Object.fromEntries(
    Object.entries(setups).map(([key, s]) => [key, combine(s.runs)]),
  ) as Record<keyof typeof setups, ReturnType<typeof combine>>
  const row = (key: 'direct' | 'one' | 'three', floorKey: 'floorOne' | 'floorThree'): ResultRow => {
    const f = figures[key]
    const floor = figures[floorKey]

    return {
      measure: `Completions/s, ${setups[key].name}`,
      service: `${Math.round(f.rate)}/s (p99 ${ms(f.latency.p99)})`,
      reference: `${Math.round(floor.rate)}/s (${setups[floorKey].name})`,
      ratio: percent(f.rate / floor.rate),
      goal: '-',
      met: 'n/a',
    }
  }
  const gain = figures.three.rate / figures.one.rate

  return {
    id: 6,
    title: 'Scale-out behind nginx',
    rows: [
      row('direct', 'floorOne'),
      row('one', 'floorOne'),
      row('three', 'floorThree'),
      {
        measure: '3 instances / 1 instance (both via nginx)',
        service: `${fmt(gain)}x`,
        reference: `floor ${fmt(figures.floorThree.rate / figures.floorOne.rate)}x`,
        ratio: '-',
        goal: '-',
        met: 'n/a',
      },
    ],
    notes: [
      `${INSPECTORS} inspectors, backlog ${backlog}, ${rounds} rounds of ${runMs / 1000} s per ` +
        `set-up, set-ups in turn; DB_POOL_SIZE=${ctx.options.poolSize} per instance. Per run: ` +
        Object.entries(setups)
          .map(([key, s]) => `${s.name} ${figures[key as keyof typeof setups].rates.join(', ')}`)
          .join('; ') +
        '.',
      ...Object.values(setups).map(
        (s) => `CPU, ${s.name}: ${cpuPerOperation(s.runs)}. Limit: ${limitOf(s.runs)}.`,
      ),
      `Errors: ${Object.values(setups)
        .map((s) => `${s.name} ${errorSummary(combine(s.runs).errors)}`)
        .join('; ')}.`,
    ],
  }
}

function notOnSqlite(): ScenarioReport {
  return {
    id: 6,
    title: 'Scale-out behind nginx',
    rows: [
      {
        measure: 'Scale-out',
        service: 'not run on SQLite',
        reference: '-',
        ratio: '-',
        goal: '-',
        met: 'n/a',
      },
    ],
    notes: [
      'Several instances on one SQLite file are serialised by its write lock (README, ' +
        'Limitations); scale-out is measured on MariaDB only.',
    ],
  }
}
