// 2. Task creation at 64 concurrent clients, nobody logged in (every task stays pending),
// beside GET /healthz of the same server at the same concurrency: the cost of HTTP and
// Fastify alone, the floor any route of this server stands on.

import { Random } from '../../chaos/random.js'
import { openBenchDb } from '../database.js'
import { errorSummary, expectStatus, HttpClient, openLoop } from '../load.js'
import { combine, cpuPerOperation, type Measured, measureRun, ms, percent } from '../measure.js'
import { fmt, type Summary, summarize } from '../stats.js'
import type { Scenario } from './scenario.js'
import { yesNo } from './scenario.js'

const CLIENTS = 64
const P99_GOAL_MS = 20

export const creation: Scenario = {
  id: 2,
  title: 'Task creation',
  async run(ctx) {
    const runs = ctx.scale(3, 2)
    const runMs = ctx.scale(8000, 1500)
    const url = await ctx.newDatabase('creation')
    const db = openBenchDb(url)
    const service = await ctx.startService('creation', url)
    const client = ctx.httpClient(service.port, url, CLIENTS)
    // No credential, as a load balancer's probe sends none: the service looks up any key it
    // is sent, public route or not, and the no-op must stay HTTP and Fastify alone.
    const probe = new HttpClient(service.port, CLIENTS)
    const groups = ctx.cpuGroups({ service: [service] })
    let created = 0

    const createRun = (durationMs: number) =>
      measureRun(db, groups, {
        workers: CLIENTS,
        durationMs,
        maxOps: 2_000_000,
        step: async () => {
          const description = `bench creation ${++created}`
          expectStatus(await client.post('/tasks', { description }), 201, 'POST /tasks')

          return true
        },
      })
    const noopRun = (durationMs: number) =>
      measureRun(db, groups, {
        workers: CLIENTS,
        durationMs,
        maxOps: 5_000_000,
        step: async () => {
          expectStatus(await probe.get('/healthz'), 200, 'GET /healthz')

          return true
        },
      })

    ctx.progress('warming up')
    await createRun(ctx.scale(2000, 1000))
    await noopRun(ctx.scale(2000, 1000))
    const creates: Measured[] = []
    const noops: Measured[] = []
    for (let r = 1; r <= runs; r++) {
      ctx.progress(`run ${r}/${runs}: POST /tasks, then GET /healthz`)
      creates.push(await createRun(runMs))
      noops.push(await noopRun(runMs))
    }
    const c = combine(creates)
    const n = combine(noops)

    // The same two routes below saturation: Poisson arrivals at half the creation rate.
    const halfRate = Math.max(10, Math.round(c.rate / 2))
    ctx.progress(`open loop at ${halfRate}/s: POST /tasks, then GET /healthz`)
    const arrivals = new Random(2)
    const random = () => arrivals.next()
    const open = (step: () => Promise<unknown>) =>
      openLoop({ ratePerS: halfRate, durationMs: runMs, maxInFlight: CLIENTS, random, step })
    const createdOpen = summarize(
      (await open(() => client.post('/tasks', { description: `bench open ${++created}` })))
        .latencies,
    )
    const noopOpen = summarize((await open(() => probe.get('/healthz'))).latencies)
    client.close()
    probe.close()
    await ctx.stopService(service)
    await db.close()
    const statements = creates.at(-1)?.statements

    return {
      id: 2,
      title: this.title,
      rows: [
        {
          measure: `Tasks created/s, ${CLIENTS} clients`,
          service: `${Math.round(c.rate)}/s`,
          reference: `${Math.round(n.rate)}/s (GET /healthz)`,
          ratio: percent(c.rate / n.rate),
          goal: '-',
          met: 'n/a',
        },
        {
          measure: 'Creation latency p50 / p99',
          service: `${fmt(c.latency.p50)} / ${ms(c.latency.p99)}`,
          reference: `${fmt(n.latency.p50)} / ${ms(n.latency.p99)}`,
          ratio: `${fmt(c.latency.p50 / n.latency.p50)}x / ${fmt(c.latency.p99 / n.latency.p99)}x`,
          goal: `p99 < ${P99_GOAL_MS} ms`,
          met: yesNo(c.latency.p99 < P99_GOAL_MS),
        },
        {
          measure: `Creation latency p50 / p99 at ${halfRate}/s (open loop)`,
          service: `${fmt(createdOpen.p50)} / ${ms(createdOpen.p99)}`,
          reference: `${fmt(noopOpen.p50)} / ${ms(noopOpen.p99)}`,
          ratio: ratios(createdOpen, noopOpen),
          goal: '-',
          met: 'n/a',
        },
      ],
      notes: [
        `Runs of ${runMs / 1000} s, creation and no-op alternating; per run: creates/s ` +
          `${c.rates.join(', ')}; no-op/s ${n.rates.join(', ')}. Percentiles over ` +
          `${c.operations} creations and ${n.operations} no-op requests. No inspector is ` +
          'logged in, so each task stays pending (the queue grows by every creation). In a ' +
          `closed loop the mean latency is ${CLIENTS} / rate (Little's law), so a p99 under ` +
          `${P99_GOAL_MS} ms at ${CLIENTS} clients needs over ${(CLIENTS * 1000) / P99_GOAL_MS} ` +
          'creations/s; the open-loop row shows the latency below saturation (Poisson ' +
          `arrivals at half the measured rate, ${runMs / 1000} s, ${createdOpen.count} ` +
          'creations).',
        ...(statements ? [`Statements per creation: ${statements.describe()}.`] : []),
        `CPU during creation runs: ${cpuPerOperation(creates)}.`,
        `CPU during no-op runs: ${cpuPerOperation(noops)}.`,
        `Errors: creation ${errorSummary(c.errors)}; no-op ${errorSummary(n.errors)}.`,
      ],
    }
  },
}

function ratios(service: Summary, floor: Summary): string {
  return `${fmt(service.p50 / floor.p50)}x / ${fmt(service.p99 / floor.p99)}x`
}
