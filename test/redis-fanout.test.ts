// REDIS_URL: instances tell each other over Redis that the audit trail grew, so an event made
// on one reaches a stream on another at once instead of at the next poll; Redis unreachable,
// or gone and back, fails and slows no request, and the database poll still delivers.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../chaos/ports.js'
import { answers, PrivateRedis, waitForSubscribers } from '../chaos/redis.js'
import { EventFeed } from '../src/domain/event-feed.js'
import type { EventRow } from '../src/store/events.js'
import type { Store } from '../src/store/store.js'
import { ADMIN_AUTH } from './support/credentials.js'
import { EventClient } from './support/event-client.js'
import { forEachStore, type Reply, TestDatabase, TestService } from './support/stores.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const ON_CI = process.env.CI === 'true'
/**
 * The longest poll there is, far longer than any test here: a stream's first read of the
 * database comes a minute after it opens, so an event that arrives sooner came by Redis.
 */
const NO_POLL = '60000'

async function skipUnless(ready: boolean, why: string): Promise<string | false> {
  if (ready) return false
  if (ON_CI) throw new Error(`CI=true but ${why}`)

  return `${why}; start one (or set TEST_REDIS_URL) to run these`
}

const SHARED_REDIS_SKIP = await skipUnless(await answers(REDIS_URL), `no Redis at ${REDIS_URL}`)
const PRIVATE_REDIS_SKIP = await skipUnless(PrivateRedis.installed(), 'redis-server is missing')

/** A channel no other test run, file or store uses, on a Redis shared with others. */
const uniqueChannel = (what: string) =>
  `qc-assign-test:${what}:${process.pid}:${randomBytes(4).toString('hex')}`

async function listening(service: TestService): Promise<number> {
  await service.app.server.listen({ host: '127.0.0.1', port: 0 })

  return (service.app.server.server.address() as AddressInfo).port
}

/** The request, and how long it took. */
async function timed<T>(request: Promise<Reply<T>>): Promise<Reply<T> & { ms: number }> {
  const started = performance.now()
  const reply = await request

  return { ...reply, ms: performance.now() - started }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} starts in before()`)

  return value
}

describe('Redis fan-out between instances', { skip: SHARED_REDIS_SKIP }, () => {
  for (const kind of ['sqlite', 'mariadb'] as const) {
    const channel = uniqueChannel(kind)
    const env = { REDIS_URL, REDIS_CHANNEL: channel, EVENT_POLL_MS: NO_POLL }

    forEachStore(
      'REDIS_URL set',
      (t) => {
        let second: TestService | undefined
        let stream: EventClient | undefined
        let port = 0

        before(async () => {
          port = await listening(t.service)
          second = await TestService.start(t.databaseUrl, env)
          await waitForSubscribers(REDIS_URL, channel, 2)
        })
        after(async () => {
          stream?.close()
          await second?.stop()
        })

        test('an event made on another instance reaches a stream well within 1 s', async (c) => {
          const b = required(second, 'the second instance')
          const a = await EventClient.open(port, ADMIN_AUTH)
          stream = a
          const ann = await b.post('/persons', { name: 'Ann' })
          await b.post('/login', { person_id: ann.body.id })
          // A publisher may connect a moment after the subscribers counted above; any later
          // nudge brings these along, so only the measured events below have a tight bound.
          await a.until(() => a.events.length >= 2, 'the warm-up events', 5000)

          const latencies: number[] = []
          for (let i = 1; i <= 5; i++) {
            const created = await b.post('/tasks', { description: `Inspect ${i}` })
            assert.equal(created.status, 201)
            const answered = performance.now()
            const at = () =>
              a.events.findIndex((e) => e.type === 'task_created' && e.task_id === created.body.id)
            await a.until(() => at() >= 0, `task ${created.body.id} on the other instance`, 1000)
            latencies.push((a.arrivedAt[at()] ?? Number.NaN) - answered)
          }
          // This instance's own events come back through its own subscription, just as fast.
          const local = await t.service.post('/persons', { name: 'Bob' })
          const answered = performance.now()
          const localAt = () => a.events.findIndex((e) => e.person_id === local.body.id)
          await a.until(() => localAt() >= 0, 'an event made on this instance', 1000)
          latencies.push((a.arrivedAt[localAt()] ?? Number.NaN) - answered)

          const worst = Math.max(...latencies)
          const shown = latencies.map((ms) => ms.toFixed(1)).join(', ')
          c.diagnostic(`answer -> stream, ms: ${shown}`)
          assert.ok(worst < 500, `answer -> stream, ms: ${shown}`)
          assert.deepEqual(
            a.events.map((e) => e.type),
            [
              'person_created',
              'person_logged_in',
              'task_created',
              'task_assigned',
              ...Array(4).fill('task_created'),
              'person_created',
            ],
          )
        })
      },
      { env, stores: [kind] },
    )
  }
})

forEachStore(
  'REDIS_URL unreachable',
  (t) => {
    let second: TestService | undefined
    let stream: EventClient | undefined
    let port = 0

    before(async () => {
      port = await listening(t.service)
      second = await TestService.start(t.databaseUrl, await unreachableRedis())
    })
    after(async () => {
      stream?.close()
      await second?.stop()
    })

    test('requests answer as usual and streams get events by polling', async () => {
      const b = required(second, 'the second instance')
      const a = await EventClient.open(port, ADMIN_AUTH)
      stream = a
      const ann = await timed(b.post('/persons', { name: 'Ann' }))
      const login = await timed(b.post('/login', { person_id: ann.body.id }))
      const tasks = [
        await timed(b.post('/tasks', { description: 'First' })),
        await timed(b.post('/tasks', { description: 'Second' })),
      ]

      assert.deepEqual(
        [ann, login, ...tasks].map((reply) => reply.status),
        [201, 200, 201, 201],
      )
      // Well under connectTimeout (2 s): no request waits for Redis.
      const slowest = Math.max(...[ann, login, ...tasks].map((reply) => reply.ms))
      assert.ok(slowest < 1000, `slowest request ${slowest.toFixed(0)} ms`)
      await a.until(() => a.events.length >= 5, 'the events, by polling', 3000)
      assert.deepEqual(
        a.events.map((e) => e.type),
        ['person_created', 'person_logged_in', 'task_created', 'task_assigned', 'task_created'],
      )
    })
  },
  { env: await unreachableRedis() },
)

/** A loopback port nobody listens on: connections are refused at once. */
async function unreachableRedis(): Promise<Record<string, string>> {
  return {
    REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    REDIS_CHANNEL: uniqueChannel('unreachable'),
    EVENT_POLL_MS: '100',
  }
}

describe('Redis going away and coming back (a private redis-server)', {
  skip: PRIVATE_REDIS_SKIP,
}, () => {
  let dir = ''
  let redis: PrivateRedis | undefined
  let database: TestDatabase | undefined
  const services: TestService[] = []
  let stream: EventClient | undefined
  const channel = uniqueChannel('restart')

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qc-assign-redis-'))
    redis = await PrivateRedis.create(dir)
    database = await TestDatabase.create('sqlite')
    const env = { REDIS_URL: redis.url, REDIS_CHANNEL: channel, EVENT_POLL_MS: NO_POLL }
    for (let i = 0; i < 2; i++) services.push(await TestService.start(database.url, env))
  })
  after(async () => {
    stream?.close()
    for (const service of services) await service.stop()
    await redis?.stop()
    await database?.drop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('requests never wait for it, and streams catch up the moment it is back', async () => {
    const server = required(redis, 'the private Redis')
    const [a, b] = services
    if (!a || !b) throw new Error('two instances start in before()')
    await bothConnected(server, channel)
    const events = await EventClient.open(await listening(a), ADMIN_AUTH)
    stream = events
    await b.post('/persons', { name: 'Ann' })
    await events.until(() => events.events.length === 1, 'an event through Redis', 1000)

    await server.stop()
    const during = await timed(b.post('/persons', { name: 'Bob' }))
    assert.equal(during.status, 201)
    assert.ok(during.ms < 1000, `a request while Redis was down took ${during.ms} ms`)
    await sleep(300)
    assert.equal(events.events.length, 1, 'with the poll a minute away, nothing else delivers')

    await server.start()
    // The reconnected subscription reads the trail once: what was announced into the void.
    await events.until(() => events.events.length === 2, 'the missed event', 10_000)
    await bothConnected(server, channel)
    await b.post('/persons', { name: 'Cem' })
    await events.until(() => events.events.length === 3, 'an event after the restart', 1000)
    assert.deepEqual(
      events.events.map((e) => e.type),
      ['person_created', 'person_created', 'person_created'],
    )
  })
})

/** Both instances' subscribers and publishers are back (4 connections beside the probe). */
async function bothConnected(redis: PrivateRedis, channel: string): Promise<void> {
  await waitForSubscribers(redis.url, channel, 2)
  const deadline = Date.now() + 10_000
  while ((await redis.clientCount()) < 4) {
    if (Date.now() > deadline) throw new Error('the publishers did not reconnect within 10 s')
    await sleep(50)
  }
  // A connection counts once accepted; ioredis sends on it after one more round trip.
  await sleep(100)
}

describe('EventFeed.nudge', () => {
  /** A trail that grows by one row per read, each read taking 30 ms; counts overlaps. */
  function slowTrail() {
    let last = 0
    let inFlight = 0
    const seen = { reads: 0, overlaps: 0 }
    const events = {
      lastId: async () => 0,
      listAfter: async (_db: unknown, afterId: number): Promise<EventRow[]> => {
        seen.reads++
        if (++inFlight > 1) seen.overlaps++
        await sleep(30)
        inFlight--
        last++

        return afterId < last ? [row(last)] : []
      },
    }

    return { store: { db: {}, events } as unknown as Store, seen }
  }
  const row = (id: number): EventRow => ({
    id,
    occurred_at: '2024-01-01 00:00:00.000',
    type: 'task_created',
    actor: 'system',
    task_id: id,
    person_id: null,
    detail: null,
  })

  test('reads at once, never beside a read in progress, and once more after it', async () => {
    const { store, seen } = slowTrail()
    const feed = new EventFeed(store, { pollMs: 60_000, gapWaitMs: 2000, nudgeGapMs: 0 })
    const told: number[] = []
    const stop = await feed.listen((events) => told.push(...events.map((e) => e.id)))

    feed.nudge()
    await sleep(5)
    for (let i = 0; i < 20; i++) feed.nudge()
    await sleep(150)
    stop()
    await feed.close()

    assert.equal(seen.overlaps, 0)
    assert.equal(seen.reads, 2, 'the first read, and one more for the nudges during it')
    assert.deepEqual(told, [1, 2])
  })

  test('does nothing while nobody listens', async () => {
    const { store, seen } = slowTrail()
    const feed = new EventFeed(store, { pollMs: 60_000, gapWaitMs: 2000 })

    feed.nudge()
    await sleep(50)
    await feed.close()

    assert.equal(seen.reads, 0)
  })
})
