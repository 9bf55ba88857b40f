// 4. Scale: the time to assign with a small and a huge queue, and with few and many
// inspectors logged in. Each case has a database and a service of its own, and the cases
// are measured in turn, round after round, so a busy moment on this shared machine falls
// on all of them rather than on one.
import type { ServiceInstance } from '../../chaos/cluster.js'
import type { BenchContext } from '../context.js'
import { type BenchDb, openBenchDb } from '../database.js'
import {
  addCounters,
  type Counters,
  countersSince,
  perOperation,
  readCounters,
} from '../db-counters.js'
import { completeOverHttp, type Inspector, logIn } from '../inspectors.js'
import { closedLoop, expectStatus, type HttpClient, type LoopResult } from '../load.js'
import { seedHeldTasks, seedPendingTasks, seedPersons } from '../seed.js'
import { fmt, summarize } from '../stats.js'
import { type ResultRow, type Scenario, yesNo } from './scenario.js'

/** Concurrent requests in each case: enough to exercise SKIP LOCKED, far from saturation. */
const DRIVERS = 4
const GOAL = 1.5

interface Case {
  label: string
  /** MariaDB's counters over this case's measured rounds. */
  counters: Counters | null
  db: BenchDb
  service: ServiceInstance
  client: HttpClient
  /** One measured operation by driver `w`; resolves with its latency in ms. */
  step(w: number): Promise<number>
  /** Before each round: keep the queue at its size. */
  refill(): Promise<void>
  results: LoopResult[]
}

export const scale: Scenario = {
  id: 4,
  title: 'Scale: time to assign',
  async run(ctx) {
    const queues = ctx.scale([1000, 100_000, 1_000_000], [1000, 10_000, 100_000])
    const crowds = ctx.scale([10, 1000, 10_000], [10, 100, 1000])
    // Many short rounds: the load of the machine's other users changes within seconds.
    const rounds = ctx.scale(10, 4)
    const roundMs = ctx.scale(750, 300)
    const roundOps = ctx.scale(600, 300)

    const largest = (queues.at(-1) ?? 0) as number
    const crowd = (crowds.at(-1) ?? 0) as number
    const queueCases: Case[] = []
    for (const size of queues) {
      ctx.progress(`queue case: ${size} pending, 10 inspectors`)
      queueCases.push(await queueCase(ctx, size, 0, roundOps))
    }
    ctx.progress(`largest case: ${largest} pending, ${crowd} more inspectors holding tasks`)
    const combined = await queueCase(ctx, largest, crowd, roundOps)
    const crowdCases: Case[] = []
    for (const count of crowds) {
      ctx.progress(`crowd case: ${count} free inspectors`)
      crowdCases.push(await crowdCase(ctx, count))
    }
    const cases = [...queueCases, combined, ...crowdCases]

    for (const c of cases) await measure(c, 300, 200, false)
    for (let r = 1; r <= rounds; r++) {
      ctx.progress(`round ${r}/${rounds} over ${cases.length} cases`)
      // Each round starts one case later, so no case is always first after a pause.
      const order = [...cases.slice(r % cases.length), ...cases.slice(0, r % cases.length)]
      for (const c of order) c.results.push(await measure(c, roundMs, roundOps))
    }
    for (const c of cases) c.client.close()
    for (const c of [...queueCases, ...crowdCases]) {
      await ctx.stopService(c.service)
      await c.db.close()
    }
    await ctx.stopService(combined.service)
    await combined.db.close()

    return {
      id: 4,
      title: this.title,
      rows: [
        ...axisRows('complete -> next task', queueCases, combined),
        ...axisRows('create -> assigned', crowdCases),
      ],
      notes: [
        `${DRIVERS} concurrent inspectors per case; ${rounds} rounds of ${roundMs / 1000} s ` +
          `(at most ${roundOps} operations) per case, cases in turn, each round starting one ` +
          `case later. A queue case keeps between N and N + ${roundOps} tasks pending ` +
          '(topped up before each round); its ' +
          `operation is POST /tasks/{id}/complete, which claims the next task. A crowd case ` +
          `has N free inspectors and no queue; its operation is POST /tasks, timed alone, ` +
          'which claims the inspector free the longest (each driver then completes the task, ' +
          'untimed, so the crowd stays free). The goal is judged on p50 and p99 both.',
        ...readNotes(cases),
      ],
    }
  },
}

/** What each case's operation read in the database: the same work at any size, or not. */
function readNotes(cases: Case[]): string[] {
  const lines = cases.flatMap((c) => {
    const ops = c.results.reduce((sum, r) => sum + r.latencies.length, 0)
    const per = perOperation(null, c.counters, ops)

    return per ? [`${c.label}: ${per.describeReads()}`] : []
  })
  if (lines.length === 0) return []

  return [
    `Rows read per operation (MariaDB's handler counters over the measured rounds, less ` +
      `the readings' own; the whole server, so the idle cases' sweeps add a little): ` +
      `${lines.join('; ')}.`,
  ]
}

function axisRows(operation: string, axis: Case[], extra?: Case): ResultRow[] {
  const all = extra ? [...axis, extra] : axis
  const summaries = all.map((c) => summarize(c.results.flatMap((r) => r.latencies)))
  const base = summaries[0]
  const rows: ResultRow[] = []
  all.forEach((c, i) => {
    const s = summaries[i]
    if (!s || !base) return
    const p50 = s.p50 / base.p50
    const p99 = s.p99 / base.p99
    const largest = i === all.length - 1
    rows.push({
      measure: `${operation}, ${c.label}`,
      service: `${fmt(s.p50)} / ${fmt(s.p99)} ms (n=${s.count})`,
      reference: i === 0 ? 'smallest case' : `${fmt(base.p50)} / ${fmt(base.p99)} ms`,
      ratio: i === 0 ? '-' : `${fmt(p50)}x / ${fmt(p99)}x`,
      goal: largest ? `<= ${GOAL}x smallest` : '-',
      met: largest ? yesNo(p50 <= GOAL && p99 <= GOAL) : 'n/a',
    })
  })

  return rows
}

async function measure(
  c: Case,
  durationMs: number,
  maxOps: number,
  counted = true,
): Promise<LoopResult> {
  await c.refill()
  const before = await readCounters(c.db)
  const loop = await closedLoop({ workers: DRIVERS, durationMs, maxOps, step: (w) => c.step(w) })
  if (counted) {
    c.counters = addCounters(c.counters, await countersSince(c.db, before))
  }

  return loop
}

const short = (n: number) =>
  n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : `${n}`

/**
 * `size` tasks pending, 10 inspectors logged in (each holding a task, DRIVERS of them
 * completing), and `holding` more inspectors, each with a task, who never complete.
 */
async function queueCase(
  ctx: BenchContext,
  size: number,
  holding: number,
  roundOps: number,
): Promise<Case> {
  const name = `scale_queue_${short(size)}${holding > 0 ? `_${short(holding)}` : ''}`
  const url = await ctx.newDatabase(name.toLowerCase())
  const db = openBenchDb(url)
  await seedPendingTasks(db, size + roundOps)
  if (holding > 0) {
    await seedPersons(db, holding, 'busy', 'holding')
    await seedHeldTasks(db)
  }
  const personIds = await seedPersons(db, 10, 'offline', 'driver')
  const service = await ctx.startService(name, url)
  const client = ctx.httpClient(service.port, url, DRIVERS)
  const inspectors: Inspector[] = (await logIn(client, personIds)).slice(0, DRIVERS)
  const logged = 10 + holding
  let consumed = 0

  return {
    label: `${short(size)} pending, ${short(logged)} logged in`,
    db,
    service,
    client,
    results: [],
    counters: null,
    async step(w) {
      const inspector = inspectors[w]
      if (!inspector) throw new Error(`no driver ${w}`)
      const began = performance.now()
      if (!(await completeOverHttp(client, inspector))) throw new Error('the driver held no task')
      consumed++

      return performance.now() - began
    },
    async refill() {
      // Each completion took one task off the queue; put as many back behind it.
      if (consumed > 0) await seedPendingTasks(db, consumed)
      consumed = 0
    },
  }
}

/** `size` inspectors logged in and free, nothing pending. */
async function crowdCase(ctx: BenchContext, size: number): Promise<Case> {
  const name = `scale_crowd_${short(size)}`
  const url = await ctx.newDatabase(name.toLowerCase())
  const db = openBenchDb(url)
  await seedPersons(db, size, 'free', 'crowd')
  const service = await ctx.startService(name, url)
  const client = ctx.httpClient(service.port, url, DRIVERS)
  let created = 0

  return {
    label: `${short(size)} free inspectors, queue empty`,
    db,
    service,
    client,
    results: [],
    counters: null,
    async step() {
      const began = performance.now()
      const reply = await client.post<{ id: number; assigned_person_id: number | null }>('/tasks', {
        description: `scale crowd ${++created}`,
      })
      const latency = performance.now() - began
      const task = expectStatus(reply, 201, 'POST /tasks').body
      if (task.assigned_person_id === null) throw new Error('a task stayed pending')
      const done = await client.post(`/tasks/${task.id}/complete`, {
        person_id: task.assigned_person_id,
      })
      expectStatus(done, 200, 'POST /tasks/{id}/complete')

      return latency
    },
    async refill() {},
  }
}
