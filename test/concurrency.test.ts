import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  allViolations,
  personsDisagreeingWithOpenAssignment,
  personsWithTwoOpenAssignments,
  tasksDisagreeingWithCompletion,
  tasksDisagreeingWithOpenAssignment,
  tasksWithTwoOpenAssignments,
  waitingWork,
} from '../chaos/invariants.js'
import { type LoadResult, runMixedLoad } from './load/mixed-load.js'
import { forEachStore, type Reply, TestDatabase, TestService } from './support/stores.js'

// Print the seed with every run; QC_LOAD_SEED=<n> repeats a run's mix of operations.
const SEED = Number(process.env.QC_LOAD_SEED ?? Math.floor(Math.random() * 2 ** 31))

const LOAD = {
  persons: 20,
  seedTasks: 10,
  workers: 40,
  bursts: 12,
  deadlineMs: 30_000,
  seed: SEED,
}

/**
 * Two instances (two pools, as two processes would have) share one database while 40
 * clients work at once, in bursts with quiet moments between them (see load/mixed-load.ts).
 * The load runs once; each test then checks one promise against what the clients were told
 * and what the tables hold. The database is this suite's own, because the harness empties
 * its database before every test.
 */
forEachStore(
  'two instances under concurrent load',
  (t) => {
    let database: TestDatabase | undefined
    const instances: TestService[] = []
    let load: LoadResult
    const quiet: { burst: number; pending: number; free: number }[] = []
    const db = () => {
      const first = instances[0]
      if (!first) throw new Error('the instances start in before()')

      return first.store.db
    }

    before(async () => {
      database = await TestDatabase.create(t.kind)
      instances.push(await TestService.start(database.url))
      instances.push(await TestService.start(database.url))
      load = await runMixedLoad(instances, {
        ...LOAD,
        onQuiet: async (burst) => {
          quiet.push({ burst, ...(await waitingWork(db())) })
        },
      })
    })
    after(async () => {
      for (const instance of instances) await instance.stop()
      await database?.drop()
    })

    test('every request is answered with a status its kind allows, never a 5xx', (ctx) => {
      ctx.diagnostic(
        `seed ${SEED}: ${load.operations} operations, ${load.exchanges.length} requests ` +
          `in ${load.elapsedMs} ms`,
      )
      ctx.diagnostic(`answers: ${JSON.stringify(tally(load))}`)
      const unexpected = load.exchanges.filter((e) => !e.expected.includes(e.status))

      assert.deepEqual(unexpected, [])
      assert.equal(load.operations, LOAD.workers * LOAD.bursts, 'the load ran to its end')
    })

    test('a task completed from both instances at once is completed once', () => {
      const bothWon = load.completedTwice.filter((race) => race.statuses.every((s) => s === 200))
      const oneWon = load.completedTwice.filter((race) => race.statuses.includes(200))

      assert.deepEqual(bothWon, [])
      assert.ok(oneWon.length > 0, 'at least one double completion found its task in progress')
    })

    test('no task is answered 200 on completion twice', () => {
      const wins = new Map<string, number>()
      for (const e of load.exchanges) {
        if (e.url.endsWith('/complete') && e.status === 200) {
          wins.set(e.url, (wins.get(e.url) ?? 0) + 1)
        }
      }

      assert.deepEqual(
        [...wins].filter(([, count]) => count > 1),
        [],
      )
      assert.ok(wins.size > 0)
    })

    test('an inspector logged in from both instances at once is answered 200 twice', () => {
      assert.ok(load.loggedInTwice.length > 0)
      for (const race of load.loggedInTwice) assert.deepEqual(race.statuses, [200, 200])
    })

    test('no task and no inspector holds two open assignments', async () => {
      assert.deepEqual(await tasksWithTwoOpenAssignments(db()), [])
      assert.deepEqual(await personsWithTwoOpenAssignments(db()), [])
    })

    test('IN_PROGRESS means exactly one open assignment, held by a busy inspector', async () => {
      assert.deepEqual(await tasksDisagreeingWithOpenAssignment(db()), [])
    })

    test('an inspector is busy exactly when they hold one open assignment', async () => {
      assert.deepEqual(await personsDisagreeingWithOpenAssignment(db()), [])
    })

    test('a task is DONE exactly when one of its assignments ended COMPLETED', async () => {
      const done = await db()
        .selectFrom('qc_task')
        .select('id')
        .where('status', '=', 'DONE')
        .execute()

      assert.deepEqual(await tasksDisagreeingWithCompletion(db()), [])
      assert.ok(done.length > 0, 'the load completed some tasks')
    })

    test('every task answered 201 exists exactly once, with the description sent', async () => {
      const rows = await db().selectFrom('qc_task').select(['id', 'description']).execute()
      const stored = new Map(rows.map((row) => [row.id, row.description]))
      const ids = load.created.map((task) => task.id)

      assert.equal(new Set(ids).size, ids.length, 'no id was handed out twice')
      assert.equal(rows.length, load.created.length, 'no task exists that no client was told of')
      for (const task of load.created) assert.equal(stored.get(task.id), task.description)
    })

    test('after every burst no task waits while an inspector is free, without a sweep', (ctx) => {
      const both = quiet.filter((q) => q.pending > 0 && q.free > 0)
      ctx.diagnostic(`pending/free after each burst: ${quiet.map((q) => `${q.pending}/${q.free}`)}`)
      ctx.diagnostic(`${both.length} of ${quiet.length} quiet moments had both waiting`)

      assert.ok(
        quiet.some((q) => q.pending > 0),
        'some burst left a backlog',
      )
      assert.ok(
        quiet.some((q) => q.free > 0),
        'some burst left inspectors idle',
      )
      assert.deepEqual(both, [])
    })

    test('after one sweep no task waits beside a free inspector; every rule holds', async (ctx) => {
      const swept = await instances[0]?.app.sweeper.sweepOnce()
      ctx.diagnostic(`the sweep assigned ${swept?.assigned} tasks`)
      const waiting = await waitingWork(db())

      assert.ok(waiting.pending === 0 || waiting.free === 0, JSON.stringify(waiting))
      for (const [rule, rows] of Object.entries(await allViolations(db()))) {
        assert.deepEqual(rows, [], rule)
      }
    })
  },
  { stores: ['mariadb', 'sqlite'] },
)

/** How many answers of each status each kind of request got, for the test log. */
function tally(load: LoadResult): Record<string, Record<number, number>> {
  const counts: Record<string, Record<number, number>> = {}
  for (const { op, status } of load.exchanges) {
    const byStatus = counts[op] ?? {}
    counts[op] = byStatus
    byStatus[status] = (byStatus[status] ?? 0) + 1
  }

  return counts
}

/**
 * The claims pass over locked rows, and a follow-up that pairs nobody gives up on the
 * belief that whoever holds the rows will pair them. This test holds a free inspector's row
 * with a transaction that pairs nobody, as a completion that lost its race does. MariaDB
 * only: SQLite has no row locks, and its write transactions simply take turns.
 */
forEachStore(
  'pairing while a free inspector is held by another transaction',
  (t) => {
    test('a task created while a free inspector is locked elsewhere reaches them', async () => {
      const ann = (await t.service.post('/persons', { name: 'Ann' })).body.id
      await t.service.post('/login', { person_id: ann })

      let creating: Promise<Reply<{ id: number }>> | undefined
      await t.service.store.db.transaction().execute(async (tx) => {
        await tx.selectFrom('qc_person').select('id').where('id', '=', ann).forUpdate().execute()
        creating = t.service.post<{ id: number }>('/tasks', {
          description: 'Created while Ann is locked',
        })
        await sleep(50)
      })
      const created = await creating
      assert.equal(created?.status, 201)
      const task = await settledTask(t.service, created.body.id)

      assert.deepEqual(
        { status: task.status, assigned_person_id: task.assigned_person_id },
        { status: 'IN_PROGRESS', assigned_person_id: ann },
      )
    })
  },
  { stores: ['mariadb'] },
)

/**
 * The same hold, made by the service itself: clients that complete a task another client has
 * just completed lock its (now free) inspector, find the task DONE and give up. Four of them
 * hold the inspector one after another, long enough for a task created at that moment to
 * miss them on every try. Each round is checked once all its requests have been answered.
 */
forEachStore('pairing beside a contested completion', (t) => {
  test('a task created while four clients complete one task is assigned at once', async (ctx) => {
    const other = await TestService.start(t.databaseUrl)
    const instances = [t.service, other]
    const lost: number[] = []
    let rounds = 0
    try {
      const ann = (await t.service.post('/persons', { name: 'Ann' })).body.id
      await t.service.post('/login', { person_id: ann })
      const started = performance.now()
      for (; rounds < 150 && performance.now() - started < 8_000; rounds++) {
        const held = (await t.service.post('/tasks', { description: `held #${rounds}` })).body
        assert.equal(held.assigned_person_id, ann)

        const url = `/tasks/${held.id}/complete`
        const completions = [0, 1, 0, 1].map((i) => instances[i]?.post(url, {}))
        const creating = sleep(rounds % 4).then(() =>
          instances[rounds % 2]?.post('/tasks', { description: `beside #${rounds}` }),
        )
        const statuses = (await Promise.all(completions)).map((reply) => reply?.status)
        await creating
        assert.deepEqual(statuses.sort(), [200, 409, 409, 409])

        const waiting = await waitingWork(t.service.store.db)
        if (waiting.pending > 0 && waiting.free > 0) {
          lost.push(rounds)
          await t.service.app.sweeper.sweepOnce()
        }
        const annNow = (await t.service.get(`/persons/${ann}`)).body
        assert.equal(annNow.state, 'busy', 'Ann holds the task created beside the completions')
        await t.service.post(`/tasks/${annNow.current_task_id}/complete`, {})
      }
    } finally {
      await other.stop()
    }
    ctx.diagnostic(`${lost.length} of ${rounds} rounds left a task waiting beside a free Ann`)

    assert.deepEqual(lost, [])
  })
})

/** The task once nothing changes it any more, or after half a second, whichever is first. */
async function settledTask(service: TestService, id: number) {
  let task = (await service.get(`/tasks/${id}`)).body
  for (let i = 0; i < 10 && task.status === 'PENDING'; i++) {
    await sleep(50)
    task = (await service.get(`/tasks/${id}`)).body
  }

  return task
}
