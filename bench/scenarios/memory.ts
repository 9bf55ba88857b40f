// 5. Memory: the service's peak RSS (VmHWM, read by its PID) while a million tasks are queued
// and it serves the completion cycle, creations and every list endpoint at its largest page,
// following cursors. A route that loaded a whole table would show here as hundreds of MB.
import { setTimeout as sleep } from 'node:timers/promises'
import { openBenchDb } from '../database.js'
import { completeOverHttp, inspectorAt, logIn } from '../inspectors.js'
import {
  closedLoop,
  errorSummary,
  expectStatus,
  type HttpClient,
  type Reply,
  rate,
} from '../load.js'
import { ms } from '../measure.js'
import { memoryMiB } from '../proc.js'
import { seedPendingTasks, seedPersons } from '../seed.js'
import { fmt, summarize } from '../stats.js'
import { type Scenario, yesNo } from './scenario.js'

const INSPECTORS = 32
const CREATORS = 4
const READERS = 2
const PAGE = 500
const GOAL_MB = 200
const LISTS = [
  '/tasks/pending',
  '/tasks',
  '/tasks?status=PENDING',
  '/tasks?status=DONE',
  '/persons',
  '/persons/available',
  '/assignments',
]
/** Pages followed through next_cursor on each visit of a list. */
const PAGES_PER_VISIT = 4

const mb = (mib: number) => (mib * 1024 * 1024) / 1e6

interface ListStats {
  latencies: number[]
  maxItems: number
  maxBytes: number
}

export const memory: Scenario = {
  id: 5,
  title: 'Memory with a large queue',
  async run(ctx) {
    const size = ctx.scale(1_000_000, 100_000)
    const durationMs = ctx.scale(25_000, 6000)
    const url = await ctx.newDatabase('memory')
    const db = openBenchDb(url)
    ctx.progress(`seeding ${size} pending tasks`)
    // The completions consume the queue's head; the margin keeps a million behind it.
    await seedPendingTasks(db, size + ctx.scale(40_000, 10_000))
    const personIds = await seedPersons(db, INSPECTORS, 'offline', 'memory')
    const service = await ctx.startService('memory', url)
    const pid = service.pid
    if (!pid) throw new Error('the service has no PID')
    const atStart = memoryMiB(pid)
    const client = ctx.httpClient(service.port, url, INSPECTORS + CREATORS + READERS + 1)
    const inspectors = await logIn(client, personIds)

    const samples: number[] = []
    let running = true
    const sampler = (async () => {
      for (let i = 0; running && i < 10_000; i++) {
        samples.push(memoryMiB(pid).rss)
        await sleep(100)
      }
    })()
    const lists = new Map<string, ListStats>(
      LISTS.map((path) => [path, { latencies: [], maxItems: 0, maxBytes: 0 }]),
    )
    let created = 0
    let visit = 0
    ctx.progress(`load for ${durationMs / 1000} s with ${size} queued`)
    const [completions, creations, reads, metrics] = await Promise.all([
      closedLoop({
        workers: INSPECTORS,
        durationMs,
        maxOps: 5_000_000,
        step: (w) => completeOverHttp(client, inspectorAt(inspectors, w)),
      }),
      closedLoop({
        workers: CREATORS,
        durationMs,
        maxOps: 5_000_000,
        step: async () => {
          const reply = await client.post('/tasks', { description: `memory ${++created}` })
          expectStatus(reply, 201, 'POST /tasks')

          return true
        },
      }),
      closedLoop({
        workers: READERS,
        durationMs,
        maxOps: 1_000_000,
        step: async () => {
          const path = LISTS[visit++ % LISTS.length] as string
          await readPages(client, path, lists.get(path) as ListStats)

          return true
        },
      }),
      closedLoop({
        workers: 1,
        durationMs,
        maxOps: 1000,
        step: async () => {
          expectStatus(await client.get('/metrics'), 200, 'GET /metrics')
          await sleep(1000)

          return true
        },
      }),
    ])
    running = false
    await sampler
    const peak = memoryMiB(pid).peak
    const oversized = await client.get(`/tasks/pending?limit=${size}`)
    client.close()
    await ctx.stopService(service)
    await db.close()

    const rss = summarize(samples)
    const biggest = [...lists.values()].reduce((max, l) => Math.max(max, l.maxItems), 0)
    const listNotes = [...lists].map(([path, stats]) => {
      const s = summarize(stats.latencies)

      return (
        `${path} p50 ${fmt(s.p50)} / p99 ${ms(s.p99)}, up to ${stats.maxItems} items ` +
        `(${Math.round(stats.maxBytes / 1024)} KiB)`
      )
    })
    const metricsLatency = summarize(metrics.latencies.map((l) => l - 1000))

    return {
      id: 5,
      title: this.title,
      rows: [
        {
          measure: `Peak RSS, ${size / 1_000_000}M queued, under load`,
          service: `${fmt(mb(peak))} MB`,
          reference: `${fmt(mb(atStart.rss))} MB after start`,
          ratio: `${fmt(peak / atStart.rss)}x`,
          goal: `< ${GOAL_MB} MB`,
          met: yesNo(mb(peak) < GOAL_MB),
        },
        {
          measure: 'Largest list answer, any endpoint',
          service: `${biggest} items`,
          reference: `limit ${PAGE}; limit=${size} -> ${oversized.status}`,
          ratio: '-',
          goal: 'pages only',
          met: yesNo(biggest <= PAGE && oversized.status === 400),
        },
      ],
      notes: [
        `${durationMs / 1000} s of ${INSPECTORS} inspectors completing ` +
          `(${Math.round(rate(completions))}/s), ${CREATORS} clients creating ` +
          `(${Math.round(rate(creations))}/s), ${READERS} readers walking every list at ` +
          `limit=${PAGE} (${PAGES_PER_VISIT} pages a visit, ${reads.latencies.length} visits) ` +
          `and GET /metrics each second (p50 ${fmt(metricsLatency.p50)} ms, max ` +
          `${ms(metricsLatency.max)}: it counts the pending tasks on every scrape).`,
        `RSS sampled every 100 ms: median ${fmt(mb(rss.p50))} MB, max ${fmt(mb(rss.max))} ` +
          `MB; VmHWM (peak) ${fmt(mb(peak))} MB.`,
        `Lists: ${listNotes.join('; ')}.`,
        `Errors: completions ${errorSummary(completions.errors)}; creations ` +
          `${errorSummary(creations.errors)}; lists ${errorSummary(reads.errors)}.`,
      ],
    }
  },
}

interface Page {
  items: unknown[]
  next_cursor: string | null
}

async function readPages(client: HttpClient, path: string, stats: ListStats): Promise<void> {
  let cursor: string | null = null
  for (let page = 0; page < PAGES_PER_VISIT; page++) {
    const join = path.includes('?') ? '&' : '?'
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
    const query: string = `${join}limit=${PAGE}${after}`
    const began = performance.now()
    const reply: Reply<Page> = await client.get<Page>(`${path}${query}`)
    stats.latencies.push(performance.now() - began)
    const body: Page = expectStatus(reply, 200, `GET ${path}`).body
    stats.maxItems = Math.max(stats.maxItems, body.items.length)
    stats.maxBytes = Math.max(stats.maxBytes, reply.bytes)
    cursor = body.next_cursor
    if (!cursor) return
  }
}
