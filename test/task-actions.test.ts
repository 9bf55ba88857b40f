import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { allViolations, waitingWork } from '../chaos/invariants.js'
import { assertProblem } from './support/problems.js'
import { forEachStore, type Reply, TestService } from './support/stores.js'

/** Who the default test credential (ADMIN_API_KEY) acts as in the audit trail. */
const ADMIN_ACTOR = 'admin:env'

interface TaskBody {
  id: number
  status: string
  assigned_person_id: number | null
  completed_at: string | null
}

interface AssignmentBody {
  task_id: number
  person_id: number
  completed_at: string | null
  start_reason: string
  end_reason: string | null
  started_by: string | null
  ended_by: string | null
}

interface AuditBody {
  type: string
  actor: string
  task_id: number | null
  person_id: number | null
  detail: string | null
}

/**
 * POST /tasks/:id/cancel withdraws a task that is not DONE; POST /tasks/:id/release takes a
 * task in progress back from its inspector. Both free the inspector, who is then served like
 * anyone else who has just become free.
 */
forEachStore('task actions', (t) => {
  const person = async (name: string, pin?: string): Promise<number> =>
    (await t.service.post('/persons', pin === undefined ? { name } : { name, pin })).body.id
  const login = (id: number) => t.service.post('/login', { person_id: id })
  /** Free-since times have millisecond resolution; a pause keeps the order unambiguous. */
  const loginInOrder = async (...ids: number[]) => {
    for (const id of ids) {
      await login(id)
      await sleep(3)
    }
  }
  const createTask = async (description: string): Promise<TaskBody> =>
    (await t.service.post('/tasks', { description })).body
  const cancel = (id: number, headers?: Record<string, string>) =>
    t.service.post(`/tasks/${id}/cancel`, undefined, headers)
  const release = (id: number, body?: unknown, headers?: Record<string, string>) =>
    t.service.post(`/tasks/${id}/release`, body, headers)
  const complete = (id: number) => t.service.post(`/tasks/${id}/complete`)
  const task = async (id: number): Promise<TaskBody> => (await t.service.get(`/tasks/${id}`)).body
  const personNow = async (id: number) => (await t.service.get(`/persons/${id}`)).body
  const pendingIds = async (): Promise<number[]> =>
    (await t.service.get('/tasks/pending')).body.items.map((item: TaskBody) => item.id)
  const history = async (query: string): Promise<AssignmentBody[]> =>
    (await t.service.get(`/assignments?${query}`)).body.items
  const audit = async (query: string): Promise<AuditBody[]> =>
    (await t.service.get(`/audit?${query}`)).body.items
  const taskRow = (id: number) =>
    t.service.store.db.selectFrom('qc_task').selectAll().where('id', '=', id).executeTakeFirst()
  /** A supervisor's API key, to show that the trail names the caller, not the admin. */
  const supervisorKey = async (name: string): Promise<Record<string, string>> => {
    const issued = await t.service.post('/api-keys', { name, role: 'supervisor' })
    assert.equal(issued.status, 201)

    return { authorization: `Bearer ${issued.body.key}` }
  }
  /** An inspector's own session, from their PIN. */
  const signIn = async (personId: number, pin: string): Promise<Record<string, string>> => {
    const reply = await t.service.request(
      'POST',
      '/login',
      { person_id: personId, pin },
      { authorization: '' },
    )
    assert.equal(reply.status, 200)

    return { authorization: `Bearer ${reply.body.session.token}` }
  }

  // Cancelling

  test('cancelling a pending task answers it CANCELLED and takes it off the queue', async () => {
    const first = await createTask('withdrawn')
    const second = await createTask('still wanted')

    const reply = await cancel(first.id)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.id, first.id)
    assert.equal(reply.body.status, 'CANCELLED')
    assert.equal(reply.body.assigned_person_id, null)
    assert.ok(reply.body.completed_at, 'completed_at records when it was withdrawn')
    assert.deepEqual(await pendingIds(), [second.id])
    const row = await taskRow(first.id)
    assert.equal(row?.status, 'CANCELLED')
    assert.notEqual(row?.completed_at, null)
    assert.deepEqual(await task(first.id), reply.body)
  })

  test('a cancelled task is never assigned: the next inspector gets the next task', async () => {
    const withdrawn = await createTask('withdrawn')
    const wanted = await createTask('wanted')
    await cancel(withdrawn.id)
    const ann = await person('Ann')

    const loggedIn = await login(ann)
    const done = await complete(wanted.id)

    assert.equal(loggedIn.body.task.id, wanted.id)
    assert.equal(done.body.next_task, null, 'the cancelled task is not handed out after it')
    assert.equal((await task(withdrawn.id)).status, 'CANCELLED')
    assert.deepEqual(await history(`task_id=${withdrawn.id}`), [])
  })

  test('an inspector who logs in while only cancelled tasks exist gets nothing', async () => {
    const withdrawn = await createTask('withdrawn')
    await cancel(withdrawn.id)
    const ann = await person('Ann')

    const loggedIn = await login(ann)
    const swept = await t.service.app.sweeper.sweepOnce()

    assert.equal(loggedIn.body.task, null)
    assert.equal(loggedIn.body.person.state, 'free')
    assert.equal(swept.assigned, 0, 'not even the sweep assigns a cancelled task')
    assert.equal((await personNow(ann)).state, 'free')
    assert.deepEqual(await pendingIds(), [])
  })

  test('cancelling a task in progress gives its inspector the next task at once', async () => {
    const ann = await person('Ann')
    await login(ann)
    const held = await createTask('held by Ann')
    const next = await createTask('waiting')

    const reply = await cancel(held.id)
    // Read straight after the answer: the pairing happened in the cancelling request.
    const annNow = await personNow(ann)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.status, 'CANCELLED')
    assert.ok(reply.body.completed_at)
    assert.equal(annNow.state, 'busy')
    assert.equal(annNow.current_task_id, next.id)
    const nextNow = await task(next.id)
    assert.equal(nextNow.status, 'IN_PROGRESS')
    assert.equal(nextNow.assigned_person_id, ann)
    const [ended] = await history(`task_id=${held.id}`)
    assert.equal(ended?.person_id, ann)
    assert.equal(ended?.end_reason, 'CANCELLED')
    assert.equal(ended?.ended_by, ADMIN_ACTOR)
    assert.equal(ended?.completed_at, reply.body.completed_at)
    const [started] = await history(`task_id=${next.id}`)
    assert.equal(started?.person_id, ann)
    assert.equal(started?.completed_at, null)
    assert.equal(started?.started_by, ADMIN_ACTOR)
  })

  test('cancelling the only task in progress leaves its inspector logged in and free', async () => {
    const ann = await person('Ann')
    await login(ann)
    const held = await createTask('held by Ann')

    await cancel(held.id)
    const annNow = await personNow(ann)
    const fresh = await createTask('fresh')

    assert.equal(annNow.state, 'free')
    assert.equal(annNow.current_task_id, null)
    assert.equal(fresh.assigned_person_id, ann, 'Ann is served again like anyone free')
  })

  test('cancelling a DONE task answers 409 TASK_ALREADY_DONE and changes nothing', async () => {
    const ann = await person('Ann')
    await login(ann)
    const finished = await createTask('finished')
    await complete(finished.id)
    const before = await t.service.snapshot()
    const trailBefore = await audit(`task_id=${finished.id}`)

    const reply = await cancel(finished.id)

    assertProblem(reply, 409, 'TASK_ALREADY_DONE')
    assert.deepEqual(await t.service.snapshot(), before)
    assert.deepEqual(await audit(`task_id=${finished.id}`), trailBefore)
  })

  test('cancelling twice answers 200 both times and records one cancellation', async () => {
    const ann = await person('Ann')
    await login(ann)
    const held = await createTask('held by Ann')
    const next = await createTask('waiting')

    const first = await cancel(held.id)
    const afterFirst = await t.service.snapshot()
    const second = await cancel(held.id)

    assert.equal(first.status, 200)
    assert.equal(second.status, 200)
    assert.deepEqual(second.body, first.body)
    assert.deepEqual(await t.service.snapshot(), afterFirst, 'the repeat changed nothing')
    assert.equal((await personNow(ann)).current_task_id, next.id, 'Ann keeps her next task')
    const cancellations = (await audit(`task_id=${held.id}`)).filter(
      (event) => event.type === 'task_cancelled',
    )
    assert.equal(cancellations.length, 1)
  })

  test('cancelling or releasing an unknown task answers 404 TASK_NOT_FOUND', async () => {
    const before = await t.service.snapshot()

    assertProblem(await cancel(999_999), 404, 'TASK_NOT_FOUND')
    assertProblem(await release(999_999), 404, 'TASK_NOT_FOUND')
    assert.deepEqual(await t.service.snapshot(), before)
  })

  test('an inspector may not cancel, not even their own task', async () => {
    const ann = await person('Ann', '2468')
    const session = await signIn(ann, '2468')
    const held = await createTask('held by Ann')
    const before = await t.service.snapshot()

    assertProblem(await cancel(held.id, session), 403)
    assert.deepEqual(await t.service.snapshot(), before)
  })

  // Releasing

  test('a released task goes to another free inspector; its holder stays free', async () => {
    const [ann, bob] = [await person('Ann'), await person('Bob')]
    await login(ann)
    const held = await createTask('held by Ann')
    await login(bob)

    const reply = await release(held.id)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.released.id, held.id)
    assert.equal(reply.body.released.status, 'IN_PROGRESS')
    assert.equal(reply.body.released.assigned_person_id, bob)
    assert.equal(reply.body.next_task, null)
    const annNow = await personNow(ann)
    assert.equal(annNow.is_logged_in, true)
    assert.equal(annNow.state, 'free')
    assert.equal((await personNow(bob)).current_task_id, held.id)
    const [bobs, anns] = await history(`task_id=${held.id}`)
    assert.deepEqual(
      [anns?.person_id, anns?.end_reason, anns?.ended_by],
      [ann, 'RELEASED', ADMIN_ACTOR],
    )
    assert.deepEqual(
      [bobs?.person_id, bobs?.start_reason, bobs?.completed_at],
      [bob, 'RELEASE', null],
    )
  })

  test('an inspector who releases a task joins the back of the free line', async () => {
    const [ann, bob, cid] = [await person('Ann'), await person('Bob'), await person('Cid')]
    await login(ann)
    const held = await createTask('held by Ann')
    await loginInOrder(bob, cid)

    const reply = await release(held.id)
    const forCid = await createTask('second')
    const forAnn = await createTask('third')

    assert.equal(reply.body.released.assigned_person_id, bob, 'Bob was free the longest')
    assert.equal(forCid.assigned_person_id, cid)
    assert.equal(forAnn.assigned_person_id, ann)
  })

  test('with nobody else free, the holder gets the same task back: it is the oldest', async () => {
    const ann = await person('Ann')
    await login(ann)
    const held = await createTask('held by Ann')
    const younger = await createTask('younger')

    const reply = await release(held.id)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.released.status, 'IN_PROGRESS')
    assert.equal(reply.body.released.assigned_person_id, ann)
    assert.equal(reply.body.next_task?.id, held.id)
    assert.deepEqual(await pendingIds(), [younger.id])
    const [again, released] = await history(`task_id=${held.id}`)
    assert.deepEqual([released?.end_reason, released?.completed_at === null], ['RELEASED', false])
    assert.deepEqual(
      [again?.person_id, again?.start_reason, again?.completed_at],
      [ann, 'RELEASE', null],
    )
  })

  test('with nobody else free, the holder gets the oldest pending task instead', async () => {
    const [ann, bob] = [await person('Ann'), await person('Bob')]
    await loginInOrder(bob, ann)
    const older = await createTask('older, for Bob')
    const held = await createTask('younger, for Ann')
    assert.deepEqual([older.assigned_person_id, held.assigned_person_id], [bob, ann])
    await t.service.post('/logout', { person_id: bob })

    const reply = await release(held.id)

    assert.equal(reply.body.released.status, 'PENDING')
    assert.equal(reply.body.released.assigned_person_id, null)
    assert.equal(reply.body.next_task?.id, older.id)
    assert.equal(reply.body.next_task?.assigned_person_id, ann)
    assert.equal((await personNow(ann)).current_task_id, older.id)
    assert.deepEqual(await pendingIds(), [held.id])
  })

  test('releasing a task that is pending, DONE or cancelled answers 409', async () => {
    const ann = await person('Ann')
    const waiting = await createTask('pending')
    const withdrawn = await createTask('cancelled')
    await cancel(withdrawn.id)
    await login(ann)
    await complete(waiting.id)
    const pending = await createTask('pending again')
    await t.service.post('/logout', { person_id: ann })
    const before = await t.service.snapshot()

    assertProblem(await release(pending.id), 409, 'TASK_NOT_IN_PROGRESS')
    assertProblem(await release(waiting.id), 409, 'TASK_ALREADY_DONE')
    assertProblem(await release(withdrawn.id), 409, 'TASK_NOT_IN_PROGRESS')
    assert.deepEqual(await t.service.snapshot(), before)
  })

  test("releasing with someone else's person_id answers 409 NOT_YOUR_TASK", async () => {
    const [ann, bob] = [await person('Ann'), await person('Bob')]
    await login(ann)
    const held = await createTask('held by Ann')
    await login(bob)
    const before = await t.service.snapshot()

    assertProblem(await release(held.id, { person_id: bob }), 409, 'NOT_YOUR_TASK')
    assert.deepEqual(await t.service.snapshot(), before)
    const reply = await release(held.id, { person_id: ann })
    assert.equal(reply.status, 200)
    assert.equal(reply.body.released.assigned_person_id, bob)
  })

  test("an inspector releases their own task, and is refused someone else's", async () => {
    const ann = await person('Ann', '2468')
    const bob = await person('Bob', '1357')
    const annSession = await signIn(ann, '2468')
    const bobSession = await signIn(bob, '1357')
    const anns = await createTask('for Ann')
    const bobs = await createTask('for Bob')
    assert.deepEqual([anns.assigned_person_id, bobs.assigned_person_id], [ann, bob])
    const before = await t.service.snapshot()

    assertProblem(await release(bobs.id, undefined, annSession), 403, 'NOT_YOURS')
    assert.deepEqual(await t.service.snapshot(), before)
    const own = await release(anns.id, undefined, annSession)

    assert.equal(own.status, 200)
    assert.equal(own.body.next_task?.id, anns.id, 'nobody else is free, so Ann gets it back')
    const [, ended] = await history(`task_id=${anns.id}`)
    assert.equal(ended?.ended_by, `person:${ann}`)
    assert.equal((await release(bobs.id, undefined, bobSession)).status, 200)
  })

  // The audit trail

  test('the audit trail records releases and cancellations with the caller as actor', async () => {
    const ann = await person('Ann')
    await login(ann)
    const held = await createTask('held by Ann')
    const supervisor = await supervisorKey('floor-lead')

    await release(held.id, undefined, supervisor)
    await cancel(held.id, supervisor)
    await t.service.post('/logout', { person_id: ann })
    const pending = await createTask('never started')
    await cancel(pending.id)

    const trail = (await audit(`task_id=${held.id}`)).map((e) => [
      e.type,
      e.actor,
      e.person_id,
      e.detail,
    ])
    assert.deepEqual(trail, [
      ['task_cancelled', 'key:floor-lead', ann, null],
      ['task_assigned', 'key:floor-lead', ann, 'RELEASE'],
      ['task_released', 'key:floor-lead', ann, 'RELEASED'],
      ['task_assigned', ADMIN_ACTOR, ann, 'TASK_CREATED'],
      ['task_created', ADMIN_ACTOR, null, null],
    ])
    const [cancelledPending] = await audit(`task_id=${pending.id}`)
    assert.deepEqual(
      [cancelledPending?.type, cancelledPending?.actor, cancelledPending?.person_id],
      ['task_cancelled', ADMIN_ACTOR, null],
    )
    const ends = (await history(`task_id=${held.id}`)).map((a) => [a.end_reason, a.ended_by])
    assert.deepEqual(ends, [
      ['CANCELLED', 'key:floor-lead'],
      ['RELEASED', 'key:floor-lead'],
    ])
  })
})

/**
 * Cancels, completions and releases of the same tasks at the same moment, from two instances
 * (two pools, as two processes would have). MariaDB only: there the transactions really
 * interleave under row locks; SQLite's write transactions simply take turns.
 */
forEachStore(
  'task actions racing each other',
  (t) => {
    test('racing actions never leave two open assignments or a busy person idle', async (ctx) => {
      const other = await TestService.start(t.databaseUrl)
      const instances = [t.service, other]
      const answers: { action: string; taskId: number; status: number; body: any }[] = []
      const send = async (
        action: string,
        taskId: number,
        instance: number,
        body?: unknown,
        delayMs = 0,
      ) => {
        const service = instances[instance % instances.length] as TestService
        await sleep(delayMs)
        const reply: Reply = await service.post(`/tasks/${taskId}/${action}`, body)
        answers.push({ action, taskId, status: reply.status, body: reply.body })
      }
      const presence: (number | undefined)[] = []
      let rounds = 0
      try {
        for (let i = 0; i < 8; i++) {
          const id = (await t.service.post('/persons', { name: `Inspector ${i}` })).body.id
          await t.service.post('/login', { person_id: id })
        }
        for (let i = 0; i < 40; i++) {
          await t.service.post('/tasks', { description: `seed #${i}` })
        }
        const started = performance.now()
        for (; rounds < 15 && performance.now() - started < 20_000; rounds++) {
          const held = (await t.service.get('/tasks?status=IN_PROGRESS&limit=100')).body.items
          const pending = (await t.service.get('/tasks/pending?limit=4')).body.items
          const requests: Promise<void>[] = []
          for (const [n, item] of (held as TaskBody[]).entries()) {
            const holder = { person_id: item.assigned_person_id }
            // Each held task is cancelled twice, completed and released, all at once.
            const actions: [string, unknown][] = [
              ['cancel', undefined],
              ['complete', n % 2 === 0 ? holder : {}],
              ['release', n % 3 === 0 ? holder : undefined],
              ['cancel', undefined],
            ]
            // A head start of a millisecond each, in another order for each task, so each
            // kind of action goes first on some tasks: a cancel, without a body to parse,
            // would otherwise start first, and win, nearly every time.
            const order = [...actions.slice(n % 4), ...actions.slice(0, n % 4)]
            for (const [k, [action, body]] of order.entries()) {
              requests.push(send(action, item.id, n + k, body, k))
            }
            if (n % 3 === 1 && item.assigned_person_id !== null) {
              // Its inspector also logs out and straight back in meanwhile.
              const who = { person_id: item.assigned_person_id }
              requests.push(
                (async () => {
                  await sleep(n % 4)
                  const out = await instances[n % 2]?.post('/logout', who)
                  const back = await instances[(n + 1) % 2]?.post('/login', who)
                  presence.push(out?.status, back?.status)
                })(),
              )
            }
          }
          for (const [n, item] of (pending as TaskBody[]).entries()) {
            requests.push(send('cancel', item.id, n), send('cancel', item.id, n + 1))
          }
          requests.push(
            ...[0, 1, 2].map(async (n) => {
              await instances[n % 2]?.post('/tasks', { description: `round ${rounds} #${n}` })
            }),
          )
          await Promise.all(requests)
        }
      } finally {
        await other.stop()
      }
      ctx.diagnostic(`${answers.length} actions in ${rounds} rounds`)
      const tally: Record<string, number> = {}
      for (const a of answers) {
        const key = `${a.action} ${a.status} ${a.status === 200 ? '' : a.body.code}`
        tally[key] = (tally[key] ?? 0) + 1
      }
      ctx.diagnostic(JSON.stringify(tally))
      const db = t.service.store.db

      const unexpected = answers.filter((a) => a.status !== 200 && a.status !== 409)
      assert.deepEqual(unexpected, [], 'every action is answered 200 or 409')
      assert.deepEqual(
        presence.filter((status) => status !== 200),
        [],
        'logging out and in again is answered 200',
      )
      for (const [rule, rows] of Object.entries(await allViolations(db))) {
        assert.deepEqual(rows, [], rule)
      }
      const waiting = await waitingWork(db)
      assert.ok(waiting.pending === 0 || waiting.free === 0, JSON.stringify(waiting))

      const tasks = await db.selectFrom('qc_task').select(['id', 'status']).execute()
      const statusOf = new Map(tasks.map((row) => [row.id, row.status]))
      const won = (action: string, taskId: number) =>
        answers.some((a) => a.action === action && a.taskId === taskId && a.status === 200)
      for (const { taskId } of answers) {
        const status = statusOf.get(taskId)
        if (won('cancel', taskId)) assert.equal(status, 'CANCELLED', `task ${taskId}`)
        if (won('complete', taskId)) assert.equal(status, 'DONE', `task ${taskId}`)
      }
      for (const a of answers.filter((a) => a.action === 'cancel' && a.status === 200)) {
        assert.equal(a.body.status, 'CANCELLED')
      }
      assert.ok(
        tasks.some((row) => row.status === 'CANCELLED') && tasks.some((r) => r.status === 'DONE'),
        'the races were won by cancels and by completions',
      )

      const cancelledEvents = await db
        .selectFrom('qc_event')
        .select(['task_id', 'actor'])
        .where('type', '=', 'task_cancelled')
        .execute()
      const cancelled = tasks.filter((row) => row.status === 'CANCELLED').map((row) => row.id)
      assert.deepEqual(
        cancelledEvents.map((e) => e.task_id).sort((x, y) => Number(x) - Number(y)),
        cancelled.sort((x, y) => x - y),
        'exactly one task_cancelled per cancelled task',
      )
      assert.ok(cancelledEvents.every((e) => e.actor === ADMIN_ACTOR))
      const cancelEnds = await db
        .selectFrom('assignment')
        .select(['task_id'])
        .where('end_reason', '=', 'CANCELLED')
        .execute()
      const ends = cancelEnds.map((row) => row.task_id)
      assert.equal(new Set(ends).size, ends.length, 'no task had two assignments cancelled')
      for (const id of ends) assert.equal(statusOf.get(id), 'CANCELLED')
    })
  },
  { stores: ['mariadb'] },
)
