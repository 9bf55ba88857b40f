// 7. Event latency across instances: an inspector's stream on instance A, tasks created on
// instance B at a steady rate, each assigned at once to a free inspector; the time from B's
// 201 answer to the assignment's arrival on A's stream, with A following the database alone
// (EVENT_POLL_MS) and with Redis nudging it (REDIS_URL, a private redis-server).
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { PrivateRedis, waitForSubscribers } from '../../chaos/redis.js'
import type { BenchContext } from '../context.js'
import { openBenchDb } from '../database.js'
import { EventStreamReader } from '../event-stream.js'
import { errorSummary, type HttpClient } from '../load.js'
import { ms } from '../measure.js'
import { seedPersons } from '../seed.js'
import { fmt, type Summary, summarize } from '../stats.js'
import type { ResultRow, Scenario, ScenarioReport } from './scenario.js'
import { yesNo } from './scenario.js'

const RATE_PER_S = 20
const WARM_UP_TASKS = 20
/** The service's default; both set-ups keep it, as a deployment with Redis would. */
const POLL_MS = 250
const GOAL_MS = { database: 1000, redis: 100 }
/** After the last answer, how long a missing event is waited for before it counts as lost. */
const STRAGGLER_WAIT_MS = 5000

interface Outcome {
  /** B's 201 answer -> A's stream, ms, one per task seen; 0 when the event came first. */
  latencies: number[]
  /** B's answer times for POST /tasks, ms. */
  answers: number[]
  early: number
  missing: number
  errors: Map<string, number>
}

export const eventLatency: Scenario = {
  id: 7,
  title: 'Event latency across instances',
  async run(ctx) {
    const tasks = ctx.scale(30, 6) * RATE_PER_S
    const database = await measure(ctx, 'event_database', tasks, {})
    if (!PrivateRedis.installed()) return report(ctx, tasks, database, null)
    const redis = await PrivateRedis.create(join(ctx.scratch, 'redis'))
    try {
      ctx.progress(`private Redis on 127.0.0.1:${redis.port}`)
      const channel = `qc-bench:${process.pid}:${randomBytes(4).toString('hex')}`
      const env = { REDIS_URL: redis.url, REDIS_CHANNEL: channel }
      const viaRedis = await measure(ctx, 'event_redis', tasks, env, () =>
        waitForSubscribers(redis.url, channel, 2),
      )

      return report(ctx, tasks, database, viaRedis)
    } finally {
      await redis.stop()
    }
  },
}

/** Two instances on a database of their own; `tasks` creations on B, the stream on A. */
async function measure(
  ctx: BenchContext,
  name: string,
  tasks: number,
  env: Record<string, string>,
  connected: () => Promise<void> = async () => {},
): Promise<Outcome> {
  const url = await ctx.newDatabase(name)
  const db = openBenchDb(url)
  try {
    await seedPersons(db, WARM_UP_TASKS + tasks, 'free', name)
  } finally {
    await db.close()
  }
  const instanceEnv = { ...env, EVENT_POLL_MS: String(POLL_MS) }
  const a = await ctx.startService(`${name}-a`, url, { env: instanceEnv })
  const b = await ctx.startService(`${name}-b`, url, { env: instanceEnv })
  const client = ctx.httpClient(b.port, url, 16)
  let stream: EventStreamReader | null = null
  try {
    await connected()
    stream = await EventStreamReader.open(a.port, ctx.authorization(url), 'task_assigned')
    ctx.progress(`${name}: warming up`)
    await steadyCreates(client, stream, WARM_UP_TASKS)
    ctx.progress(`${name}: ${tasks} tasks at ${RATE_PER_S}/s`)

    return await steadyCreates(client, stream, tasks)
  } finally {
    stream?.close()
    client.close()
    await ctx.stopService(a)
    await ctx.stopService(b)
  }
}

/**
 * `count` creations at a fixed interval, each sent whether or not the last has answered,
 * then a bounded wait for the events still on their way.
 */
async function steadyCreates(
  client: HttpClient,
  stream: EventStreamReader,
  count: number,
): Promise<Outcome> {
  const answeredAt = new Map<number, number>()
  const answers: number[] = []
  const errors = new Map<string, number>()
  const fail = (message: string): void => {
    errors.set(message, (errors.get(message) ?? 0) + 1)
  }
  const started = performance.now()
  const sent: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / RATE_PER_S - performance.now()
    if (wait > 0) await sleep(wait)
    const begin = performance.now()
    const request = client
      .post<{ id: number; status: string }>('/tasks', { description: `bench event ${i}` })
      .then((reply) => {
        const at = performance.now()
        if (reply.status !== 201) return fail(`POST /tasks: HTTP ${reply.status}`)
        if (reply.body.status !== 'IN_PROGRESS') return fail('a task was left unassigned')
        answeredAt.set(reply.body.id, at)
        answers.push(at - begin)
      })
      .catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)))
    sent.push(request)
  }
  await Promise.all(sent)
  const deadline = performance.now() + STRAGGLER_WAIT_MS
  const allSeen = () => [...answeredAt.keys()].every((id) => stream.arrivals.has(id))
  while (!allSeen() && performance.now() < deadline) await sleep(20)

  const latencies: number[] = []
  let early = 0
  let missing = 0
  for (const [taskId, answered] of answeredAt) {
    const arrived = stream.arrivals.get(taskId)
    if (arrived === undefined) {
      missing++
      continue
    }
    // The stream may show the assignment before the runner has read B's answer.
    if (arrived < answered) early++
    latencies.push(Math.max(0, arrived - answered))
  }

  return { latencies, answers, early, missing, errors }
}

function report(
  ctx: BenchContext,
  tasks: number,
  database: Outcome,
  viaRedis: Outcome | null,
): ScenarioReport {
  const polled = summarize(database.latencies)
  const redis = viaRedis ? summarize(viaRedis.latencies) : null
  // The next read comes uniformly within one poll interval: the poll's share alone.
  const pollWait = (p: number) => (POLL_MS * p) / 100
  const pollWaits = `${fmt(pollWait(50))} / ${fmt(pollWait(95))} / ${ms(pollWait(99))}`
  const rows: ResultRow[] = [
    {
      measure: `B's 201 -> A's stream p50 / p95 / p99, database only (EVENT_POLL_MS=${POLL_MS})`,
      service: percentiles(polled),
      reference: `poll wait alone ${pollWaits}`,
      ratio: `p99 ${fmt(polled.p99 / pollWait(99))}x`,
      goal: `p99 < ${GOAL_MS.database} ms`,
      met: yesNo(polled.count > 0 && database.missing === 0 && polled.p99 < GOAL_MS.database),
    },
  ]
  if (redis && viaRedis) {
    rows.push({
      measure: "B's 201 -> A's stream p50 / p95 / p99, REDIS_URL set",
      service: percentiles(redis),
      reference: `${percentiles(polled)} (database only)`,
      ratio: `p50 ${fmt(redis.p50 / polled.p50)}x, p99 ${fmt(redis.p99 / polled.p99)}x`,
      goal: `p99 < ${GOAL_MS.redis} ms`,
      met: yesNo(redis.count > 0 && viaRedis.missing === 0 && redis.p99 < GOAL_MS.redis),
    })
    const withRedis = summarize(viaRedis.answers)
    const without = summarize(database.answers)
    rows.push({
      measure: 'POST /tasks on B p50 / p99, REDIS_URL set',
      service: `${fmt(withRedis.p50)} / ${ms(withRedis.p99)}`,
      reference: `${fmt(without.p50)} / ${ms(without.p99)} (database only)`,
      ratio: `p50 ${fmt(withRedis.p50 / without.p50)}x`,
      goal: '-',
      met: 'n/a',
    })
  } else {
    rows.push({
      measure: "B's 201 -> A's stream, REDIS_URL set",
      service: 'not run: redis-server is not installed',
      reference: '-',
      ratio: '-',
      goal: `p99 < ${GOAL_MS.redis} ms`,
      met: 'n/a',
    })
  }
  const outcomes = viaRedis ? { database, redis: viaRedis } : { database }

  return {
    id: 7,
    title: 'Event latency across instances',
    rows,
    notes: [
      `Two instances on one ${ctx.options.store === 'mariadb' ? 'MariaDB' : 'SQLite'} ` +
        `database per set-up; ${tasks} tasks created on B at a steady ${RATE_PER_S}/s ` +
        `(after ${WARM_UP_TASKS} unmeasured), each assigned in its own transaction to a free ` +
        "inspector; A's stream is an admin's GET /events in the runner process, so both " +
        `times come from one clock. EVENT_POLL_MS=${POLL_MS} in both set-ups, as deployed; ` +
        'with Redis, a private redis-server on loopback and a channel of its own.',
      ...Object.entries(outcomes).map(
        ([name, o]) =>
          `${name}: ${o.latencies.length} events seen, max ${ms(summarize(o.latencies).max)}; ` +
          `${o.early} shown before B's answer was read (counted as 0 ms); ${o.missing} not ` +
          `seen within ${STRAGGLER_WAIT_MS / 1000} s; errors ${errorSummary(o.errors)}.`,
      ),
    ],
  }
}

function percentiles(summary: Summary): string {
  return `${fmt(summary.p50)} / ${fmt(summary.p95)} / ${ms(summary.p99)}`
}
