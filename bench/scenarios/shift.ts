// 3. A shift, against Erlang C: 20 inspectors, Poisson arrivals at utilisation 0.8 and
// 0.9, exponential work of mean 200 ms. Inspectors learn of a task from the answer to their
// completion, or by polling their own state every 10 ms. The wait (created -> assigned)
// comes from the task rows the service wrote; the theory is computed here (erlang-c.ts).
import { setTimeout as sleep } from 'node:timers/promises'
import { Random } from '../../chaos/random.js'
import { fromDbTime } from '../../src/store/time.js'
import type { BenchContext } from '../context.js'
import { type BenchDb, openBenchDb } from '../database.js'
import { erlangC, erlangCWaitQuantile } from '../erlang-c.js'
import { logIn } from '../inspectors.js'
import { errorSummary, expectStatus, type HttpClient } from '../load.js'
import { ms } from '../measure.js'
import { seedPersons } from '../seed.js'
import { batchMeans, fmt, mean, summarize } from '../stats.js'
import { type ResultRow, type Scenario, yesNo } from './scenario.js'
import { type ShiftTimeline, waitingWhileIdle } from './shift-idle.js'

const SERVERS = 20
const SERVICE_MEAN_MS = 200
const POLL_MS = 10
const UTILISATIONS = [0.8, 0.9]
/** A measured mean within 5% of theory, plus the polling allowance. */
const TOLERANCE = 0.05
const MAX_IN_FLIGHT = 256

interface Phase {
  rho: number
  lambdaPerS: number
  measureMs: number
  /** Wall-clock times (Date.now, the clock the service stamps with) per task id. */
  sentAt: Map<number, number>
  learnedAt: Map<number, number>
  /** Whether the inspector learned of it from a completion's answer or from a poll. */
  learnedBy: Map<number, 'answer' | 'poll'>
  /** When its inspector sent the completion, and how long they worked on it. */
  completionSentAt: Map<number, number>
  workMs: Map<number, number>
  measured: Set<number>
  errors: Map<string, number>
}

export const shift: Scenario = {
  id: 3,
  title: 'A shift against Erlang C',
  async run(ctx) {
    const url = await ctx.newDatabase('shift')
    const db = openBenchDb(url)
    const personIds = await seedPersons(db, SERVERS, 'offline', 'shift')
    const service = await ctx.startService('shift', url)
    const client = ctx.httpClient(service.port, url, SERVERS + MAX_IN_FLIGHT)
    await logIn(client, personIds)

    const rows: ResultRow[] = []
    const notes: string[] = []
    for (const [i, rho] of UTILISATIONS.entries()) {
      ctx.progress(`utilisation ${rho}: ${ctx.scale(60, 5)} s measured after a warm-up`)
      const phase = await runPhase(ctx, client, personIds, rho, 1000 + i)
      const report = await analyse(db, personIds, phase)
      rows.push(...report.rows)
      notes.push(...report.notes)
    }
    client.close()
    await ctx.stopService(service)
    await db.close()

    return { id: 3, title: this.title, rows, notes }
  },
}

async function runPhase(
  ctx: BenchContext,
  client: HttpClient,
  personIds: number[],
  rho: number,
  seed: number,
): Promise<Phase> {
  const lambdaPerS = (rho * SERVERS * 1000) / SERVICE_MEAN_MS
  const warmupMs = ctx.scale(10_000, 1500)
  const measureMs = ctx.scale(60_000, 5000)
  const phase: Phase = {
    rho,
    lambdaPerS,
    measureMs,
    sentAt: new Map(),
    learnedAt: new Map(),
    learnedBy: new Map(),
    completionSentAt: new Map(),
    workMs: new Map(),
    measured: new Set(),
    errors: new Map(),
  }
  const fail = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    phase.errors.set(message, (phase.errors.get(message) ?? 0) + 1)
  }
  const started = performance.now()
  const measureFrom = started + warmupMs
  const arrivalsEnd = measureFrom + measureMs
  const hardEnd = arrivalsEnd + 30_000
  const inFlight = new Set<Promise<void>>()
  let arrivalsDone = false
  const drained = () =>
    arrivalsDone &&
    inFlight.size === 0 &&
    [...phase.sentAt.keys()].every((id) => phase.learnedAt.has(id))
  const learn = (taskId: number, by: 'answer' | 'poll') => {
    if (phase.learnedAt.has(taskId)) return
    phase.learnedAt.set(taskId, Date.now())
    phase.learnedBy.set(taskId, by)
  }

  const inspector = async (personId: number, random: Random) => {
    let task: number | null = null
    while (performance.now() < hardEnd) {
      try {
        if (task === null) {
          if (drained()) return
          const polled = performance.now()
          const reply = await client.get<{ current_task_id: number | null }>(`/persons/${personId}`)
          task = expectStatus(reply, 200, 'GET /persons/{id}').body.current_task_id
          if (task !== null) learn(task, 'poll')
          else await sleep(Math.max(0, POLL_MS - (performance.now() - polled)))
          continue
        }
        const began = performance.now()
        await sleep(-Math.log(1 - random.next()) * SERVICE_MEAN_MS)
        phase.workMs.set(task, performance.now() - began)
        phase.completionSentAt.set(task, Date.now())
        const reply = await client.post<{ next_task: { id: number } | null }>(
          `/tasks/${task}/complete`,
          { person_id: personId },
        )
        task = expectStatus(reply, 200, 'POST /tasks/{id}/complete').body.next_task?.id ?? null
        if (task !== null) learn(task, 'answer')
      } catch (error) {
        fail(error)
        task = null
        await sleep(POLL_MS)
      }
    }
  }
  const inspectors = personIds.map((id, i) => inspector(id, new Random(seed * 100 + i)))

  const arrivals = new Random(seed)
  let due = started
  for (let n = 0; n < 1_000_000; n++) {
    due += -Math.log(1 - arrivals.next()) * (1000 / lambdaPerS)
    if (due >= arrivalsEnd) break
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    if (inFlight.size >= MAX_IN_FLIGHT) {
      fail(new Error(`over ${MAX_IN_FLIGHT} creations in flight; arrival skipped`))
      continue
    }
    const sentAt = Date.now()
    const measured = performance.now() >= measureFrom
    const request = client
      .post<{ id: number }>('/tasks', { description: `shift rho ${rho} arrival ${n}` })
      .then((reply) => {
        const { id } = expectStatus(reply, 201, 'POST /tasks').body
        phase.sentAt.set(id, sentAt)
        if (measured) phase.measured.add(id)
      })
      .catch(fail)
      .finally(() => inFlight.delete(request))
    inFlight.add(request)
  }
  arrivalsDone = true
  await Promise.all(inFlight)
  await Promise.all(inspectors)
  ctx.progress(`utilisation ${rho}: ${phase.measured.size} tasks measured`)

  return phase
}

interface TaskTimes {
  id: number
  created_at: string
  assigned_at: string | null
  completed_at: string | null
}

async function taskTimes(db: BenchDb, ids: number[]): Promise<TaskTimes[]> {
  const rows: TaskTimes[] = []
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000)
    rows.push(
      ...(await db.query<TaskTimes>(
        `select id, created_at, assigned_at, completed_at from qc_task ` +
          `where id in (${chunk.map(() => '?').join(', ')}) order by id`,
        chunk,
      )),
    )
  }

  return rows
}

const at = (time: string) => fromDbTime(time).getTime()

async function analyse(
  db: BenchDb,
  personIds: number[],
  phase: Phase,
): Promise<{ rows: ResultRow[]; notes: string[] }> {
  const all = await taskTimes(db, [...phase.sentAt.keys()])
  const measured = all.filter((t) => phase.measured.has(t.id))
  const unassigned = measured.filter((t) => t.assigned_at === null).length
  const done = measured.filter((t) => t.assigned_at !== null && t.completed_at !== null)
  const waits = done.map((t) => at(t.assigned_at as string) - at(t.created_at))
  const occupancy = done.map((t) => at(t.completed_at as string) - at(t.assigned_at as string))
  const seen = measured.flatMap((t) => {
    const sent = phase.sentAt.get(t.id)
    const learned = phase.learnedAt.get(t.id)

    return sent !== undefined && learned !== undefined ? [learned - sent] : []
  })

  const mu = 1000 / SERVICE_MEAN_MS
  const theory = erlangC(SERVERS, phase.lambdaPerS, mu)
  const theoryMs = theory.meanWait * 1000
  const q = (p: number) => erlangCWaitQuantile(SERVERS, phase.lambdaPerS, mu, p) * 1000
  const wait = summarize(waits)
  const interval = batchMeans(waits)
  const seenWait = summarize(seen)
  const allowed = TOLERANCE * theoryMs + POLL_MS
  const ok = Math.abs(wait.mean - theoryMs) <= allowed && unassigned === 0

  const realisedLambda = (measured.length / phase.measureMs) * 1000
  const occupancyMs = mean(occupancy)
  const holding = holdingParts(done, phase)
  const effective = effectiveTheory(realisedLambda, occupancyMs)
  const timeline: ShiftTimeline = {
    tasks: all.map((t) => ({ created: at(t.created_at), assigned: nullableTime(t.assigned_at) })),
    assignments: await assignmentsOf(db, personIds),
    from: Math.min(...measured.map((t) => at(t.created_at))),
    to: Math.max(...measured.map((t) => at(t.created_at))),
  }
  const idle = waitingWhileIdle(timeline)
  const label = `Shift rho=${phase.rho}`

  return {
    rows: [
      {
        measure: `${label}: mean wait, created -> assigned`,
        service: `${fmt(wait.mean)} ms (95% CI +-${fmt(interval.halfWidth)})`,
        reference: `Erlang C ${ms(theoryMs)}`,
        ratio: `${fmt(wait.mean / theoryMs)}x`,
        goal: `within 5% + ${POLL_MS} ms`,
        met: yesNo(ok),
      },
      {
        measure: `${label}: p95 / p99 wait`,
        service: `${fmt(wait.p95)} / ${ms(wait.p99)}`,
        reference: `${fmt(q(0.95))} / ${ms(q(0.99))}`,
        ratio: `${fmt(wait.p95 / q(0.95))}x / ${fmt(wait.p99 / q(0.99))}x`,
        goal: '-',
        met: 'n/a',
      },
      {
        measure: `${label}: wait seen by inspectors, mean / p99`,
        service: `${fmt(seenWait.mean)} / ${ms(seenWait.p99)}`,
        reference: `${fmt(theoryMs)} / ${ms(q(0.99))} + poll`,
        ratio: '-',
        goal: '-',
        met: 'n/a',
      },
      {
        measure: `${label}: inspector free while a task waited`,
        service: `${fmt(idle.totalMs)} ms in ${idle.episodes} episodes`,
        reference: '0',
        ratio: `longest ${ms(idle.longestMs)}`,
        goal: 'none',
        met: yesNo(idle.episodes === 0),
      },
    ],
    notes: [
      `rho=${phase.rho}: lambda ${fmt(phase.lambdaPerS)}/s nominal, ${fmt(realisedLambda)}/s ` +
        `realised; ${measured.length} tasks measured over ${phase.measureMs / 1000} s after ` +
        `a warm-up (${unassigned} never assigned). P(wait) measured ` +
        `${fmt(waits.filter((w) => w > 0).length / Math.max(1, waits.length))}, theory ` +
        `${fmt(theory.probabilityOfWait)}. The service saw each task held ` +
        `${fmt(occupancyMs)} ms on average (assigned -> completed), for a target of ` +
        `${SERVICE_MEAN_MS}: ${fmt(holding.learningMs)} ms until the inspector knew of it ` +
        `(${holding.paths}), ${fmt(holding.workMs)} ms of ` +
        `work, ${fmt(holding.requestMs)} ms from sending the completion to its transaction ` +
        `(HTTP, validation, a pool connection, BEGIN). Erlang C at the realised lambda and ` +
        `that holding time: ${effective}. Errors: ${errorSummary(phase.errors)}.`,
    ],
  }
}

/** Where the holding time (assigned -> completed) of the measured tasks went, on average. */
function holdingParts(done: TaskTimes[], phase: Phase) {
  const learning: number[] = []
  const byPath = { answer: [] as number[], poll: [] as number[] }
  const work: number[] = []
  const request: number[] = []
  for (const task of done) {
    const learned = phase.learnedAt.get(task.id)
    const worked = phase.workMs.get(task.id)
    const sent = phase.completionSentAt.get(task.id)
    if (learned === undefined || worked === undefined || sent === undefined) continue
    learning.push(learned - at(task.assigned_at as string))
    byPath[phase.learnedBy.get(task.id) ?? 'poll'].push(learned - at(task.assigned_at as string))
    work.push(worked)
    request.push(at(task.completed_at as string) - sent)
  }

  const path = (name: 'answer' | 'poll') =>
    `${byPath[name].length} from ${name === 'answer' ? 'an answer' : 'a poll'} in ` +
    `${fmt(mean(byPath[name]))} ms`

  return {
    learningMs: mean(learning),
    paths: `${path('answer')}, ${path('poll')}`,
    workMs: mean(work),
    requestMs: mean(request),
  }
}

function nullableTime(time: string | null): number | null {
  return time === null ? null : at(time)
}

function effectiveTheory(lambdaPerS: number, holdingMs: number): string {
  const mu = 1000 / holdingMs
  if (lambdaPerS / (SERVERS * mu) >= 1) return 'utilisation >= 1, no steady state'
  const result = erlangC(SERVERS, lambdaPerS, mu)

  return `rho ${fmt(result.utilisation)}, mean wait ${ms(result.meanWait * 1000)}`
}

async function assignmentsOf(db: BenchDb, personIds: number[]) {
  const rows = await db.query<{ person_id: number; assigned_at: string; completed_at: string }>(
    `select person_id, assigned_at, completed_at from assignment ` +
      `where person_id in (${personIds.map(() => '?').join(', ')}) order by person_id, id`,
    personIds,
  )

  return rows.map((row) => ({
    personId: Number(row.person_id),
    assigned: at(row.assigned_at),
    ended: nullableTime(row.completed_at),
  }))
}
